// What a run of edits does to a message's mention rows: the same as applying
// the edits one by one (a name taken out loses its row, a name put in gets the
// edit's time, one that stays keeps its row and time).

import { describe, expect, it } from 'vitest';
import { mentionChanges } from './chat-mentions.ts';

describe('mention changes of a run of edits', () => {
  it('keeps a name that stays, drops one taken out, adds one put in with the edit’s time', () => {
    expect(mentionChanges(['ann', 'bob'], [{ mentions: ['bob', 'cat'], at: 20 }])).toEqual({
      drop: new Set(['ann']),
      insert: new Map([['cat', 20]]),
    });
  });

  it('a name taken out and put back gets a new row, with the time of the edit that put it back', () => {
    const changes = mentionChanges(
      ['ann'],
      [
        { mentions: [], at: 20 },
        { mentions: ['ann'], at: 30 },
        { mentions: ['ann'], at: 40 },
      ],
    );
    expect(changes).toEqual({ drop: new Set(['ann']), insert: new Map([['ann', 30]]) });
  });

  it('a name put in and taken out within the run leaves nothing', () => {
    expect(
      mentionChanges(
        [],
        [
          { mentions: ['cat'], at: 20 },
          { mentions: [], at: 30 },
        ],
      ),
    ).toEqual({ drop: new Set(), insert: new Map() });
  });

  it('no edits change nothing', () => {
    expect(mentionChanges(['ann'], [])).toEqual({ drop: new Set(), insert: new Map() });
  });
});
