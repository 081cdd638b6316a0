// The shipped Grafana dashboard (deploy/grafana-dashboard.json): valid JSON,
// one panel per metric family Parley defines, and every query names a metric
// the service exports. test/e2e/metrics.e2e.spec.ts checks the same names
// against a running server's /metrics.

import { describe, expect, it } from 'vitest';
import { createMetrics, METRIC_PREFIX } from '../src/infra/metrics.ts';
import { familyOf, metricNamesIn, parseExposition, readDashboard } from '../test/support/metrics.ts';

describe('deploy/grafana-dashboard.json', () => {
  const dashboard = readDashboard();
  const panels = dashboard.panels.filter((panel) => panel.type !== 'row');
  const exprs = panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));

  it('is a dashboard whose every panel queries something', () => {
    expect(dashboard.title).toBe('Parley');
    expect(dashboard.uid).toMatch(/^[a-z0-9-]+$/);
    expect(panels.length).toBeGreaterThan(8);
    for (const panel of panels) expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
  });

  it("queries only metrics Parley exports, and shows every one of Parley's own families", async () => {
    const { families } = parseExposition(await createMetrics({ lagCacheMs: 1_000, onLagError: () => undefined }).render());
    const used = new Set<string>();
    for (const expr of exprs) {
      for (const name of metricNamesIn(expr)) {
        const family = familyOf(name, families);
        expect(family, `${name} in ${expr}`).toBeDefined();
        used.add(family!);
      }
    }
    const own = [...families.keys()].filter((name) => name.startsWith(METRIC_PREFIX));
    expect(own.length).toBeGreaterThan(0);
    for (const family of own) expect(used, family).toContain(family);
    expect(used).toContain('nodejs_eventloop_lag_p99_seconds');
  });
});
