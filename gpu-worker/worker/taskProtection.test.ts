import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";
import { TASK_PROTECTION_PATH, TaskProtection, TaskProtectionError } from "./taskProtection.ts";

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  body: unknown;
}

type Reply = (seen: Seen, res: ServerResponse) => void;

const TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/trapline/0123456789abcdef";

/** Answers the way the ECS agent does: the task's protection state, echoing what was asked. */
const agentLike: Reply = (seen, res) => {
  const asked = seen.body as { ProtectionEnabled: boolean; ExpiresInMinutes?: number };
  const protection: Record<string, unknown> = { ProtectionEnabled: asked.ProtectionEnabled, TaskArn: TASK_ARN };
  if (asked.ProtectionEnabled) protection.ExpirationDate = new Date(Date.UTC(2030, 0, 1) + (asked.ExpiresInMinutes ?? 120) * 60_000).toISOString();
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ protection }));
};

describe("TaskProtection against a stand-in ECS agent", () => {
  let server: Server;
  let agentUri: string;
  const seen: Seen[] = [];
  let reply: Reply = agentLike;

  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let raw = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => (raw += chunk));
      req.on("end", () => {
        const entry: Seen = { method: req.method ?? "", url: req.url ?? "", contentType: req.headers["content-type"], body: raw ? JSON.parse(raw) : undefined };
        seen.push(entry);
        reply(entry, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    // The agent's URI carries a path of its own (http://169.254.170.2/api/<task id>).
    agentUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/task-1234/`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    seen.length = 0;
    reply = agentLike;
  });

  it("turns protection on for the given minutes, then off", async () => {
    const protection = new TaskProtection({ agentUri });
    assert.equal(protection.enabled, true);

    const on = await protection.protect(90);
    assert.deepEqual(seen[0], {
      method: "PUT",
      url: `/api/task-1234${TASK_PROTECTION_PATH}`,
      contentType: "application/json",
      body: { ProtectionEnabled: true, ExpiresInMinutes: 90 },
    });
    assert.deepEqual(on, { applied: true, protectionEnabled: true, expirationDate: "2030-01-01T01:30:00.000Z", taskArn: TASK_ARN });

    const off = await protection.release();
    assert.deepEqual(seen[1]?.body, { ProtectionEnabled: false });
    assert.equal(seen[1]?.url, `/api/task-1234${TASK_PROTECTION_PATH}`);
    assert.deepEqual(off, { applied: true, protectionEnabled: false, taskArn: TASK_ARN });
  });

  it("rounds and clamps the minutes to what ECS accepts (1 to 2,880)", async () => {
    const protection = new TaskProtection({ agentUri });
    await protection.protect(0.2);
    await protection.protect(12.1);
    await protection.protect(10_000);
    assert.deepEqual(
      seen.map((s) => (s.body as { ExpiresInMinutes: number }).ExpiresInMinutes),
      [1, 13, 2880],
    );
    await assert.rejects(protection.protect(Number.NaN), TaskProtectionError);
    assert.equal(seen.length, 3, "an invalid duration is not sent");
  });

  it("reads the agent's URI from ECS_AGENT_URI", async () => {
    const saved = process.env.ECS_AGENT_URI;
    process.env.ECS_AGENT_URI = agentUri;
    try {
      const protection = new TaskProtection();
      assert.equal(protection.enabled, true);
      await protection.protect(5);
      assert.equal(seen.length, 1);
    } finally {
      if (saved === undefined) delete process.env.ECS_AGENT_URI;
      else process.env.ECS_AGENT_URI = saved;
    }
  });

  it("throws with ECS's reason when the agent reports a failure", async () => {
    reply = (_seen, res) => {
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({ failure: { Arn: TASK_ARN, Reason: "TASK_NOT_VALID", Detail: "The task is not part of a service" } }),
      );
    };
    await assert.rejects(new TaskProtection({ agentUri }).protect(60), (error: Error) => {
      assert.ok(error instanceof TaskProtectionError);
      assert.match(error.message, /refused to turn on .*TASK_NOT_VALID.*not part of a service/);
      return true;
    });
  });

  it("throws with the code, and a hint for missing permissions, when the agent reports an error", async () => {
    reply = (_seen, res) => {
      res.writeHead(400, { "content-type": "application/json" }).end(
        JSON.stringify({ error: { Arn: TASK_ARN, Code: "AccessDeniedException", Message: "User is not authorized" } }),
      );
    };
    await assert.rejects(new TaskProtection({ agentUri }).release(), (error: Error) => {
      assert.match(error.message, /turn off .*HTTP 400.*AccessDeniedException: User is not authorized.*ecs:UpdateTaskProtection/);
      return true;
    });
  });

  it("throws on a reply that is not the agent's JSON", async () => {
    reply = (_seen, res) => {
      res.writeHead(502).end("bad gateway");
    };
    await assert.rejects(new TaskProtection({ agentUri }).protect(1), /HTTP 502, bad gateway/);
  });

  it("gives up on an agent that does not answer within the timeout", async () => {
    reply = () => {
      // Never answers; the client's timeout must end the wait.
    };
    const started = performance.now();
    await assert.rejects(new TaskProtection({ agentUri, timeoutMs: 200 }).protect(1), /did not answer/);
    assert.ok(performance.now() - started < 3000);
  });
});

describe("TaskProtection outside ECS", () => {
  it("does nothing and says so when there is no agent URI", async () => {
    const protection = new TaskProtection({ agentUri: undefined });
    assert.equal(protection.enabled, false);
    assert.deepEqual(await protection.protect(60), { applied: false, protectionEnabled: false });
    assert.deepEqual(await protection.release(), { applied: false, protectionEnabled: false });
  });

  it("treats a blank ECS_AGENT_URI as unset", () => {
    assert.equal(new TaskProtection({ agentUri: "  " }).enabled, false);
  });

  it("reports an unreachable agent", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await assert.rejects(new TaskProtection({ agentUri: `http://127.0.0.1:${port}` }).protect(1), (error: Error) => {
      assert.ok(error instanceof TaskProtectionError);
      assert.match(error.message, new RegExp(`agent at http://127.0.0.1:${port} did not answer`));
      return true;
    });
  });
});
