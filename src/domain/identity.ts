/** Who is calling, as services see it: set by http/auth.ts from a verified access token. */

/** `staff` (ushers) is treated like `customer` everywhere but ticket check-in (POST /tickets/check-in: staff or admin). */
export type Role = 'customer' | 'staff' | 'admin';
export interface AuthUser {
  id: string;
  role: Role;
}
