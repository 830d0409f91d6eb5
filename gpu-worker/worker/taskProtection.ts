// ECS task scale-in protection: while the worker holds a job, service scale-in and deployments
// must not stop its task (the instance would be drained mid-job and the job start over). The
// ECS agent injects ECS_AGENT_URI into every task; outside ECS it is unset and this is a no-op.

/** Path of the agent's task-protection endpoint under $ECS_AGENT_URI. */
export const TASK_PROTECTION_PATH = "/task-protection/v1/state";

/** ECS accepts 1 to 2,880 minutes (48 hours); it protects for 120 minutes when none is given. */
export const MIN_PROTECTION_MINUTES = 1;
export const MAX_PROTECTION_MINUTES = 2880;

/** The agent is on the same host: anything slower than this is a stuck agent, not a slow network. */
const AGENT_TIMEOUT_MS = 5000;

export interface ProtectionState {
  /** False outside ECS (no ECS_AGENT_URI): nothing was asked of anyone. */
  applied: boolean;
  protectionEnabled: boolean;
  /** When ECS drops the protection by itself, as the agent reported it. */
  expirationDate?: string;
  taskArn?: string;
}

export class TaskProtectionError extends Error {
  override name = "TaskProtectionError";
}

/** The agent's reply: exactly one of protection, failure (ECS refused) or error (the call failed). */
interface AgentReply {
  protection?: { ProtectionEnabled?: boolean; ExpirationDate?: string; TaskArn?: string };
  failure?: { Arn?: string; Reason?: string; Detail?: string | null };
  error?: { Arn?: string; Code?: string; Message?: string };
}

export interface TaskProtectionOptions {
  /** Defaults to process.env.ECS_AGENT_URI. */
  agentUri?: string | undefined;
  timeoutMs?: number;
}

/**
 * Sets and clears this task's scale-in protection. Call `protect()` when a job is received (and
 * again from the heartbeat for jobs that may outlast the expiry: each call restarts the clock),
 * and `release()` when the job is finished or given back. Both throw TaskProtectionError when
 * the agent refuses; the job can still run, it is just not shielded from scale-in.
 */
export class TaskProtection {
  readonly agentUri: string | undefined;
  readonly #timeoutMs: number;

  constructor(options: TaskProtectionOptions = {}) {
    const uri = "agentUri" in options ? options.agentUri : process.env.ECS_AGENT_URI;
    this.agentUri = uri?.trim() ? uri.trim().replace(/\/+$/, "") : undefined;
    this.#timeoutMs = options.timeoutMs ?? AGENT_TIMEOUT_MS;
  }

  /** True when running as an ECS task (the agent's URI is known). */
  get enabled(): boolean {
    return this.agentUri !== undefined;
  }

  /** Protects the task for `expiresInMinutes` from now (rounded up, clamped to ECS's 1..2880). */
  async protect(expiresInMinutes: number): Promise<ProtectionState> {
    if (!Number.isFinite(expiresInMinutes)) throw new TaskProtectionError(`expiresInMinutes must be a number of minutes, got ${expiresInMinutes}`);
    const minutes = Math.min(MAX_PROTECTION_MINUTES, Math.max(MIN_PROTECTION_MINUTES, Math.ceil(expiresInMinutes)));
    return this.#put({ ProtectionEnabled: true, ExpiresInMinutes: minutes });
  }

  /** Makes the task eligible for scale-in again. */
  async release(): Promise<ProtectionState> {
    return this.#put({ ProtectionEnabled: false });
  }

  async #put(body: { ProtectionEnabled: boolean; ExpiresInMinutes?: number }): Promise<ProtectionState> {
    if (!this.agentUri) return { applied: false, protectionEnabled: false };
    const action = body.ProtectionEnabled ? "turn on" : "turn off";
    let response: Response;
    try {
      response = await fetch(`${this.agentUri}${TASK_PROTECTION_PATH}`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      throw new TaskProtectionError(`Could not ${action} scale-in protection: the ECS agent at ${this.agentUri} did not answer (${(error as Error).message}).`);
    }
    const text = await response.text();
    let reply: AgentReply = {};
    try {
      reply = text ? (JSON.parse(text) as AgentReply) : {};
    } catch {
      // A non-JSON body is reported below with the status.
    }
    if (reply.failure) {
      throw new TaskProtectionError(`ECS refused to ${action} scale-in protection: ${reply.failure.Reason ?? "no reason given"}${reply.failure.Detail ? ` (${reply.failure.Detail})` : ""}.`);
    }
    if (reply.error || !response.ok || !reply.protection) {
      const detail = reply.error ? `${reply.error.Code ?? "error"}: ${reply.error.Message ?? ""}` : text.slice(0, 200) || "empty reply";
      const hint = reply.error?.Code === "AccessDeniedException" ? " The task role needs ecs:UpdateTaskProtection." : "";
      throw new TaskProtectionError(`Could not ${action} scale-in protection (HTTP ${response.status}, ${detail}).${hint}`);
    }
    const state: ProtectionState = { applied: true, protectionEnabled: reply.protection.ProtectionEnabled === true };
    if (reply.protection.ExpirationDate) state.expirationDate = reply.protection.ExpirationDate;
    if (reply.protection.TaskArn) state.taskArn = reply.protection.TaskArn;
    return state;
  }
}
