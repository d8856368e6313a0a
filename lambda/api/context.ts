import type { Role } from './auth';

/** The caller, resolved once per request: CRM user id (users.id), identity-provider sub, role. */
export interface Actor {
  readonly userId: string;
  readonly sub: string;
  readonly role: Role;
}

export interface AppEnv {
  Variables: {
    requestId: string;
    /** Set for authenticated requests with a CRM role; absent on public routes and 401s. */
    actor?: Actor;
  };
}
