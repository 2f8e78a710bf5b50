/**
 * Change since the last list against a hand-built scenario: two localities, a previous list and this run's
 * families, with every kind of change and every reason to leave worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import { buildLocalityLists, type TargetFamily } from '../../pipelines/reports/target-lists/build.ts';
import {
  changeCounts,
  listChanges,
  monthsOn,
  stateFromLists,
  type ListState,
} from '../../pipelines/reports/target-lists/changes.ts';

const TIERS = ['high', 'medium', 'low'];
const tierOf = (score: number) => (score >= 8 ? 'high' : score >= 5 ? 'medium' : score >= 2 ? 'low' : null);

function fam(familyId: string, locality: string, score: number, extra: Partial<TargetFamily> = {}): TargetFamily {
  return {
    familyId,
    locality,
    wardCode: null,
    score,
    tier: tierOf(score),
    headlines: [],
    threeNeeds: false,
    openToStatutory: false,
    reasons: [],
    statutoryEvidence: [],
    members: [],
    flags: [],
    ruleSetVersion: 'sf@1',
    ...extra,
  };
}

// the previous list (as at 2026-01-31; F-KEEP and F-UP were first listed in 2025-11-30, F-BACK was listed once long ago)
const previous: ListState = {
  asAt: '2026-01-31',
  listed: [
    { familyId: 'F-KEEP', locality: 'North', tier: 'medium', rank: 2, since: '2025-11-30' },
    { familyId: 'F-UP', locality: 'North', tier: 'low', rank: 3, since: '2025-11-30' },
    { familyId: 'F-DOWN', locality: 'North', tier: 'high', rank: 1, since: '2026-01-31' },
    { familyId: 'F-LOW', locality: 'South', tier: 'low', rank: 2, since: '2026-01-31' },
    { familyId: 'F-STAT', locality: 'South', tier: 'high', rank: 1, since: '2025-12-31' },
    { familyId: 'F-MOVE', locality: 'South', tier: 'medium', rank: 3, since: '2025-12-31' },
    { familyId: 'F-GONE', locality: 'North', tier: 'low', rank: 4, since: '2026-01-31' },
    { familyId: 'F-MERGED', locality: 'South', tier: 'low', rank: 4, since: '2026-01-31' },
  ],
  everListed: ['F-BACK', 'F-DOWN', 'F-GONE', 'F-KEEP', 'F-LOW', 'F-MERGED', 'F-MOVE', 'F-STAT', 'F-UP'],
};

// this run (as at 2026-03-31: February's run is missing)
const families = [
  fam('F-KEEP', 'North', 6), //                       medium -> medium: unchanged, 5 months (Nov..Mar)
  fam('F-UP', 'North', 9), //                         low -> high: escalated
  fam('F-DOWN', 'North', 3), //                       high -> low: de-escalated
  fam('F-NEW', 'North', 2), //                        never listed: new
  fam('F-BACK', 'South', 5), //                       listed before, not last time: returned
  fam('F-LOW', 'South', 1), //                        left: below threshold
  fam('F-STAT', 'South', 10, {
    openToStatutory: true,
    statutoryEvidence: [
      { personId: 'P1', source: 'social_care', feed: 'episodes', date: '2026-02-01', recordRef: 'E1' },
    ],
  }), // left: now statutory
  fam('F-MOVE', 'North', 5), //                       moved South -> North, still listed: left South (moved locality), unchanged in North
  fam('F-NOTHING', 'South', 0), //                    not listed now or before: nowhere
  // F-GONE: no family any more; F-MERGED: retired into F-BACK
];

describe('change since the last list (hand-built scenario)', () => {
  const lists = buildLocalityLists(families, ['North', 'South']);
  const c = listChanges({
    asAt: '2026-03-31',
    lists,
    families: new Map(families.map((f) => [f.familyId, f])),
    previous,
    tierOrder: TIERS,
    retiredInto: new Map([['F-MERGED', 'F-BACK']]),
  });

  it('gives each ranked family its change, previous tier and rank, and months on the list', () => {
    const row = (id: string) => {
      const x = c.changes.get(id)!;
      return [x.change, x.previousTier, x.previousRank, x.monthsOnList];
    };
    expect(row('F-KEEP')).toEqual(['unchanged', 'medium', 2, 5]);
    expect(row('F-UP')).toEqual(['escalated', 'low', 3, 5]);
    expect(row('F-DOWN')).toEqual(['de-escalated', 'high', 1, 3]);
    expect(row('F-NEW')).toEqual(['new', null, null, 1]);
    expect(row('F-BACK')).toEqual(['returned', null, null, 1]);
    expect(row('F-MOVE')).toEqual(['unchanged', 'medium', 3, 4]);
    expect([...c.changes.keys()].sort()).toEqual(['F-BACK', 'F-DOWN', 'F-KEEP', 'F-MOVE', 'F-NEW', 'F-UP']);
  });

  it('lists every family that left a list, with why', () => {
    expect(c.left.map((l) => [l.locality, l.familyId, l.reason])).toEqual([
      ['North', 'F-GONE', 'no longer a family'],
      ['South', 'F-STAT', 'now statutory'],
      ['South', 'F-LOW', 'below threshold'],
      ['South', 'F-MOVE', 'moved locality'],
      ['South', 'F-MERGED', 'no longer a family'],
    ]);
    expect(c.left.find((l) => l.familyId === 'F-MERGED')!.detail).toBe('its members are now in family F-BACK');
    expect(c.left.find((l) => l.familyId === 'F-MOVE')!.detail).toBe('now on the North list (tier medium)');
  });

  it('counts per locality agree with the hand count', () => {
    expect(changeCounts(c, lists)).toEqual([
      {
        locality: 'North',
        new: 1,
        escalated: 1,
        'de-escalated': 1,
        unchanged: 2,
        returned: 0,
        left: 1,
        'below threshold': 0,
        'now statutory': 0,
        'moved locality': 0,
        'no longer a family': 1,
        suppressed: 0,
      },
      {
        locality: 'South',
        new: 0,
        escalated: 0,
        'de-escalated': 0,
        unchanged: 0,
        returned: 1,
        left: 4,
        'below threshold': 1,
        'now statutory': 1,
        'moved locality': 1,
        'no longer a family': 1,
        suppressed: 0,
      },
    ]);
  });

  it('the state for the next run keeps spells and everyone ever listed', () => {
    expect(c.state.listed.find((e) => e.familyId === 'F-KEEP')).toEqual({
      familyId: 'F-KEEP',
      locality: 'North',
      tier: 'medium',
      rank: 2,
      since: '2025-11-30',
    });
    expect(c.state.everListed).toEqual([
      'F-BACK',
      'F-DOWN',
      'F-GONE',
      'F-KEEP',
      'F-LOW',
      'F-MERGED',
      'F-MOVE',
      'F-NEW',
      'F-STAT',
      'F-UP',
    ]);
  });

  it('a first run: everyone new, nobody left', () => {
    const first = listChanges({
      asAt: '2026-03-31',
      lists,
      families: new Map(),
      previous: null,
      tierOrder: TIERS,
      retiredInto: new Map(),
    });
    expect([...first.changes.values()].every((x) => x.change === 'new' && x.monthsOnList === 1)).toBe(true);
    expect(first.left).toEqual([]);
    expect(stateFromLists('2026-03-31', lists).listed).toHaveLength(6);
  });

  it('months on the list count calendar months', () => {
    expect(monthsOn('2026-03-31', '2026-03-31')).toBe(1);
    expect(monthsOn('2025-11-30', '2026-03-31')).toBe(5);
  });
});
