/**
 * Announcements between services. A service that must tell another one something (the registry:
 * "this person's record was corrected"; the token endpoint: "a client logged in") owns a Topic
 * and emits on it; app.ts subscribes the other service. Neither imports the other, so the floor
 * plan keeps its direction. Listeners run in order and are awaited: an announcement made inside
 * a transaction is handled inside it, and a listener's failure fails the announcer's step.
 */

export type Listener<E> = (event: E) => Promise<void>;

export class Topic<E> {
  private readonly listeners: Listener<E>[] = [];

  on(listener: Listener<E>): void {
    this.listeners.push(listener);
  }

  async emit(event: E): Promise<void> {
    for (const l of this.listeners) await l(event);
  }
}

/**
 * A token request, as the token endpoint announces it (auth/token-endpoint.ts) and the audit log
 * records it (audit/login-audit.ts). Never the assertion itself.
 */
export interface LoginAttempt {
  /** 0 success, 4 refused. */
  outcome: 0 | 4;
  /** The client the assertion claimed, when it got that far. */
  clientId: string | undefined;
  /** What happened: the token issued, or the step that refused it. */
  description: string;
  requestId: string;
  remoteAddress: string | undefined;
  at: Date;
  /** The person a sign-in concerns (person sign-in: recorded in their own history). */
  patientId?: string;
}
