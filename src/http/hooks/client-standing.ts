import { isExpired } from "../../core/authenticate.js";
import type { ClientRecord, Store } from "../../store/types.js";

/**
 * The client, if it may act now: it exists, is enabled, has not expired and, when the broker names the
 * connection's client id, is not bound to another one. For the questions some brokers ask without a
 * password or a topic (RabbitMQ's vhost and resource checks, go-auth's superuser check): the same
 * conditions `authorize` applies before it looks at any rule.
 */
export type FindActiveClient = (username: string, clientid?: string) => Promise<ClientRecord | null>;

export function activeClientFinder(
  store: Pick<Store, "findClient">,
  now: () => Date = () => new Date(),
): FindActiveClient {
  return async (username, clientid) => {
    const client = await store.findClient(username);
    if (client === null || !client.isEnabled || isExpired(client, now())) return null;
    if (clientid !== undefined && client.boundClientId !== null && client.boundClientId !== clientid) {
      return null;
    }
    return client;
  };
}
