// The report's rules: filed once, never about oneself; resolved once.

import { describe, it } from 'vitest';
import type { CommandMetadata } from './decider.ts';
import { given } from './testing/given-when-then.ts';
import { reportDecider, type FileReport, type ReportFiled, type ReportResolved, type ResolveReport } from './report.ts';

const T0 = 1_700_000_000_000;
const T1 = T0 + 1_000;
const meta = (user_id: string | null, at: number): CommandMetadata => ({ command_id: `cmd-${at}`, user_id, at });

const about = { report_id: 'rep-1', target_user_id: 'mallory', room_id: 'room-1', message_id: 'msg-1', reason: 'sealed:spam' };
const file = (by: string | null, target = 'mallory'): FileReport => ({
  type: 'file_report',
  data: { ...about, target_user_id: target },
  metadata: meta(by, T0),
});
const resolve = (by: string | null, resolution: 'actioned' | 'dismissed'): ResolveReport => ({
  type: 'resolve_report',
  data: { report_id: 'rep-1', resolution },
  metadata: meta(by, T1),
});
const filed: ReportFiled = { type: 'report_filed', data: { ...about, reporter_id: 'alice', filed_at: T0 } };
const resolved = (resolution: 'actioned' | 'dismissed'): ReportResolved => ({
  type: 'report_resolved',
  data: { report_id: 'rep-1', resolution, resolved_by: 'mod', resolved_at: T1 },
});

describe('file_report', () => {
  it('files a report once, in the reporter’s name', () => {
    given(reportDecider, []).when(file('alice')).then([filed]);
    given(reportDecider, [filed]).when(file('alice')).thenRejects('already_exists');
  });

  it('refuses a report of oneself, and one without a user', () => {
    given(reportDecider, []).when(file('mallory')).thenRejects('self_request');
    given(reportDecider, []).when(file(null)).thenRejects('forbidden');
  });
});

describe('resolve_report', () => {
  it('resolves an open report once; the same again says nothing, another is refused', () => {
    given(reportDecider, [filed])
      .when(resolve('mod', 'actioned'))
      .then([resolved('actioned')]);
    given(reportDecider, [filed, resolved('actioned')])
      .when(resolve('mod', 'actioned'))
      .then([]);
    given(reportDecider, [filed, resolved('actioned')])
      .when(resolve('mod', 'dismissed'))
      .thenRejects('invalid_state');
  });

  it('refuses a report that was never filed', () => {
    given(reportDecider, []).when(resolve('mod', 'dismissed')).thenRejects('not_found');
  });
});
