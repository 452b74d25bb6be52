import { z } from 'zod';

export const email = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .pipe(z.email({ message: 'Must be an email address.' }));
export const password = z
  .string()
  .min(8, 'Must be at least 8 characters.')
  .max(256, 'Must be at most 256 characters.');

export const registerBody = z.strictObject({
  email,
  password,
  name: z.string().trim().min(1, 'Must not be empty.').max(200),
});
export const loginBody = z.strictObject({ email, password: z.string().min(1).max(256) });
export const refreshBody = z.strictObject({ refreshToken: z.string().min(1).max(512) });

/** `staff` (ushers) is treated like `customer` everywhere but ticket check-in (POST /tickets/check-in: staff or admin). */
export const role = z.enum(['customer', 'staff', 'admin']);

/** PATCH /users/:id: the one field an admin may set. */
export const userPatchBody = z.strictObject({ role });

export const userSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  role,
  createdAt: z.iso.datetime(),
}).meta({ id: 'User' });
export type UserDto = z.infer<typeof userSchema>;

export const authResponse = z.object({
  user: userSchema,
  accessToken: z.string(),
  refreshToken: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number().int().describe('Seconds until the access token expires.'),
}).meta({ id: 'AuthResponse' });
export type AuthResponse = z.infer<typeof authResponse>;
