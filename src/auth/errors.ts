// The one error auth code throws at callers. `code` is stable and safe to show
// a client; the default `message` says no more than the code does, so a 401
// never tells an attacker which check failed (the detail stays in `cause`, for
// logs only); http/errors.ts has the text a response carries.

export type AuthErrorCode =
  'invalid_token' | 'token_expired' | 'invalid_refresh_token' | 'invalid_reset_token' | 'invalid_email_token';

const messages: Record<AuthErrorCode, string> = {
  invalid_token: 'invalid access token',
  token_expired: 'access token expired',
  invalid_refresh_token: 'invalid refresh token',
  invalid_reset_token: 'invalid password-reset token',
  invalid_email_token: 'invalid email-confirmation token',
};

export class AuthError extends Error {
  readonly code: AuthErrorCode;

  /** `message` defaults to a generic text for the code; whatever it says, send clients only the code's text. */
  constructor(code: AuthErrorCode, message: string = messages[code], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuthError';
    this.code = code;
  }
}
