// A process whose last work is stopping a checkpointer, then saying so: the
// stop must hold the process open until it is done (wal-checkpointer.int.spec.ts).

import path from 'node:path';
import { openSqliteFile } from '../sqlite-dialect.ts';
import { checkpointInBackground } from '../wal-checkpointer.ts';

const filename = path.join(process.argv[2]!, 'models.sqlite');
const { database } = openSqliteFile(filename);
const checkpointer = checkpointInBackground(database, filename, { intervalMs: 10, onError: () => undefined });
database.close();
await checkpointer.stop();
process.stdout.write('stopped\n');
