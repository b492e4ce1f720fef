// The Label Studio Enterprise plugin's logic, run by node's test runner against recorded annotation
// results (TAXOSPEC_CASES, written by tests/integration/test_plugin_script.py with the Python checks'
// verdict on the same annotations) and a few hand-made ones.
const { test } = require("node:test");
const assert = require("node:assert");
const fs = require("node:fs");

const { taxospecProblems, TAXOSPEC_RULES } = require(process.env.TAXOSPEC_PLUGIN);
const cases = JSON.parse(fs.readFileSync(process.env.TAXOSPEC_CASES, "utf8"));

for (const c of cases) {
  test(`task ${c.task}: ${c.blocked ? "blocked" : "saved"} as taxospec check says`, () => {
    const problems = taxospecProblems(c.result, TAXOSPEC_RULES);
    assert.strictEqual(problems.length > 0, c.blocked, `${c.codes.join(", ")} vs ${problems.join("; ")}`);
  });
}

test("an empty annotation has nothing to check", () => {
  assert.deepStrictEqual(taxospecProblems([], TAXOSPEC_RULES), []);
});

test("a one-frame segment is too short, a long one too long, and each says so", () => {
  const segment = (start, end) => ({
    id: "s1", from_name: TAXOSPEC_RULES.class_control, to_name: "video", type: "timelinelabels",
    value: { ranges: [{ start, end }], timelinelabels: ["timeout"] },
  });
  const short = taxospecProblems([segment(10, 10)], TAXOSPEC_RULES).join("\n");
  assert.match(short, /shorter than/);
  const frames = Math.ceil(TAXOSPEC_RULES.max_seconds * TAXOSPEC_RULES.frame_rate) + 5;
  assert.match(taxospecProblems([segment(1, frames)], TAXOSPEC_RULES).join("\n"), /longer than/);
});

test("garbage results do not throw", () => {
  assert.doesNotThrow(() => taxospecProblems([null, 3, "x", { value: null }, { ranges: "no" }], TAXOSPEC_RULES));
  assert.doesNotThrow(() => taxospecProblems(undefined, TAXOSPEC_RULES));
});
