import { loadConfig } from '../config.js';
import { loadDotEnv } from '../lib/dotenv.js';
import { createAuthService, usersRepo } from '../modules/auth/index.js';
import { createDb } from './knex.js';

/**
 * `npm run retire-demo-accounts`: disables every account that still holds a secret README.md
 * publishes (see `usersWithPublishedSecrets`), so a production start no longer refuses to run.
 * A disabled account's API tokens stop working too; an admin can re-enable it with a reset link.
 */
loadDotEnv();
const config = loadConfig();
const db = createDb(config.DATABASE_URL, 2);
try {
  const auth = createAuthService({ db });
  const exposed = await auth.usersWithPublishedSecrets();
  for (const email of exposed) {
    const user = await usersRepo.findByEmail(db, email);
    if (user) await usersRepo.update(db, user.id, { disabled_at: new Date() });
  }
  console.log(exposed.length ? `disabled ${exposed.length}: ${exposed.join(', ')}` : 'no account holds a published secret');
} finally {
  await db.destroy();
}
