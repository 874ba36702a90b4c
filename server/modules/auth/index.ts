export { createAuthService, hashToken, generateToken, principalOf, type AuthService } from './auth.service.js';
export { can, type Action, type Subject } from './policies.js';
export { ROLES, STAFF_ROLES, MFA_ROLES, SYSTEM_PRINCIPAL, type Role, type Principal } from './roles.js';
export { totp } from './totp.js';
export { PASSWORD_MIN } from './passwords.js';
export { usersRepo, type UserRow, type UserBinding } from './users.repo.js';
export { createLoginLimiter, type LoginLimiter } from './login-limiter.js';
export { authPages } from './auth.pages.js';
export { InviteForm, UserUpdateForm, safeNext } from './auth.schemas.js';
