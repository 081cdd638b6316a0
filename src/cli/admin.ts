// `parley admin grant|revoke <username>`: the operator makes an account a
// global admin, or stops it being one, beside those PARLEY_ADMINS names (which
// only the configuration changes). Through the command path, in-process like
// `parley seed`: the act is an event of the user (admin_granted /
// admin_revoked, by the operator) and a line of the admin audit.

import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { normalizeUsername } from '../auth/usernames.ts';
import { startCommandServices } from '../compose.ts';
import type { Config } from '../config.ts';
import { userIdByUsername } from '../queries/users-queries.ts';

export const adminUsage = `usage: parley admin grant|revoke <username>
  grant    the account becomes a global admin (suspensions, every report, the audit)
  revoke   it stops being one (one PARLEY_ADMINS names stays one: change the setting)
  Each act is in the admin audit (GET /api/v1/admin/audit), by the operator.
  Embedded mode: stop the server on PARLEY_DATA_DIR first (see README).`;

export function parseAdminArgs(args: readonly string[]): { action: 'grant' | 'revoke'; username: string } {
  const [action, username, ...rest] = args;
  if ((action !== 'grant' && action !== 'revoke') || username === undefined || username === '' || rest.length > 0) {
    throw new Error(adminUsage);
  }
  return { action, username: normalizeUsername(username) };
}

export async function adminCommand(args: readonly string[], config: Config, logger: Logger): Promise<void> {
  const { action, username } = parseAdminArgs(args);
  const services = await startCommandServices(config, logger);
  try {
    const userId = await userIdByUsername(services.ctx.store.db, username);
    if (userId === undefined) throw new Error(`no account named ${username}`);
    await services.executor.execute({
      type: action === 'grant' ? 'grant_admin' : 'revoke_admin',
      data: { user_id: userId, action_id: randomUUID() },
      metadata: { command_id: randomUUID(), user_id: null, at: Date.now() },
    });
    const named = config.PARLEY_ADMINS.includes(username) ? ' (PARLEY_ADMINS still names it)' : '';
    process.stdout.write(
      action === 'grant' ? `${username} is a global admin\n` : `${username} is no longer a granted global admin${named}\n`,
    );
  } finally {
    await services.stop();
  }
}
