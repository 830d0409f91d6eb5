import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_SETTINGS, readSettings, SettingsError } from "./settings.ts";

const from = (context: Record<string, unknown>) => (key: string) => context[key];

describe("readSettings", () => {
  it("falls back to the defaults, and to the CLI's region", () => {
    assert.deepEqual(readSettings(from({})), DEFAULT_SETTINGS);
    assert.equal(readSettings(from({}), "eu-central-1").region, "eu-central-1");
    assert.equal(readSettings(from({ region: "ap-southeast-2" }), "eu-central-1").region, "ap-southeast-2");
  });

  it("reads -c strings and cdk.json values alike", () => {
    const fromCli = readSettings(from({ instanceType: "g5.2xlarge", spot: "true", retentionDays: "30", maxWorkers: "4", alarmEmail: "ops@example.org", senderEmail: "trapline@example.org" }));
    const fromJson = readSettings(from({ instanceType: "g5.2xlarge", spot: true, retentionDays: 30, maxWorkers: 4, alarmEmail: "ops@example.org", senderEmail: "trapline@example.org" }));
    assert.deepEqual(fromCli, fromJson);
    assert.deepEqual(fromCli, { ...DEFAULT_SETTINGS, instanceType: "g5.2xlarge", spot: true, retentionDays: 30, maxWorkers: 4, alarmEmail: "ops@example.org", senderEmail: "trapline@example.org" });
    assert.equal(readSettings(from({ instanceType: "g6.xlarge" })).instanceType, "g6.xlarge");
  });

  it("lists every bad value with what to pass instead", () => {
    assert.throws(
      () => readSettings(from({ instanceType: "p3.2xlarge", spot: "maybe", retentionDays: "0", maxWorkers: "2.5", region: "mars", alarmEmail: "ops", senderEmail: "Trapline <trapline@example.org>" })),
      (error: Error) => {
        assert.ok(error instanceof SettingsError);
        for (const key of ["instanceType", "spot", "retentionDays", "maxWorkers", "region", "alarmEmail", "senderEmail"]) assert.match(error.message, new RegExp(`  ${key}: `));
        assert.match(error.message, /g4dn, g5 or g6/);
        assert.match(error.message, /senderEmail: .*Give the bare address verified in Amazon SES/);
        return true;
      },
    );
  });
});
