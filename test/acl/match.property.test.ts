import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { filterCovers, topicMatches } from "../../src/acl/match.js";

// A tiny alphabet makes collisions, empty levels and "$" first levels frequent.
const LITERALS = ["a", "b", "$x", ""];

const topicName = fc
  .array(fc.constantFrom(...LITERALS), { minLength: 1, maxLength: 4 })
  .map((levels) => levels.join("/"))
  .filter((name) => name !== "");

const topicFilter = fc
  .tuple(fc.array(fc.constantFrom(...LITERALS, "+"), { maxLength: 4 }), fc.boolean())
  .map(([levels, multi]) => (multi ? [...levels, "#"] : levels).join("/"))
  .filter((filter) => filter !== "");

/** Every list of 1..maxLevels levels drawn from `alphabet`. */
function allLevelLists(alphabet: string[], maxLevels: number): string[][] {
  let current: string[][] = [[]];
  const all: string[][] = [];
  for (let depth = 0; depth < maxLevels; depth++) {
    current = current.flatMap((prefix) => alphabet.map((level) => [...prefix, level]));
    all.push(...current);
  }
  return all;
}

// "" alone is no topic, but "" followed by more levels is ("/a", "/#").
function joinTopics(levelLists: string[][]): string[] {
  return levelLists.map((levels) => levels.join("/")).filter((topic) => topic !== "");
}

describe("topic matching properties", () => {
  it("for a topic name, filterCovers is topicMatches", () => {
    fc.assert(
      fc.property(topicFilter, topicName, (filter, name) => {
        expect(filterCovers(filter, name)).toBe(topicMatches(filter, name));
      }),
      { numRuns: 2000 },
    );
  });

  it("what a covered filter matches, the covering filter matches", () => {
    fc.assert(
      fc.property(topicFilter, topicFilter, topicName, (rule, requested, name) => {
        fc.pre(filterCovers(rule, requested) && topicMatches(requested, name));
        expect(topicMatches(rule, name)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("a topic name matches itself, and '#' matches exactly the names without a leading '$'", () => {
    fc.assert(
      fc.property(topicName, (name) => {
        expect(topicMatches(name, name)).toBe(true);
        expect(topicMatches("#", name)).toBe(!name.startsWith("$"));
      }),
    );
  });

  it("every filter covers itself", () => {
    fc.assert(fc.property(topicFilter, (filter) => filterCovers(filter, filter)));
  });

  // Exhaustive over all filters of up to 3 levels (plus an optional "#"): filterCovers must
  // be exactly inclusion of the matched names. Names get one more level than any filter, so
  // a "#" can show what it adds, and a literal "c" no filter names, so "+" always has a
  // witness that no literal level matches.
  it("filterCovers(rule, requested) is exactly: every name requested matches, rule matches", () => {
    const names = joinTopics(allLevelLists([...LITERALS, "c"], 5));
    const prefixes = [[], ...allLevelLists([...LITERALS, "+"], 3)];
    const filters = joinTopics(prefixes.flatMap((levels) => [levels, [...levels, "#"]]));
    const matched = new Map(filters.map((f) => [f, new Set(names.filter((n) => topicMatches(f, n)))]));
    const wrong: string[] = [];
    for (const [rule, ruleNames] of matched) {
      for (const [requested, requestedNames] of matched) {
        const included = [...requestedNames].every((name) => ruleNames.has(name));
        if (filterCovers(rule, requested) !== included) wrong.push(`${rule} ⊇ ${requested}: ${included}`);
      }
    }
    expect(filters.length).toBeGreaterThan(300);
    expect(wrong).toEqual([]);
  });
});
