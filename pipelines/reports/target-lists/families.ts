/** The families a run scored, as the target lists see them (families, scores and members of its curated tables). */
import { cmp } from '../../../models/order.ts';
import type { StageContext } from '../../stages/context.ts';
import { readFamilies } from '../../tables/families.ts';
import { readFamilyMembers } from '../../tables/family-members.ts';
import { readScores } from '../../tables/scores.ts';
import type { TargetFamily } from './build.ts';

export async function loadTargetFamilies(ctx: StageContext, asAt = ctx.asAt): Promise<TargetFamily[]> {
  const fams = await readFamilies(ctx.stores.curated, asAt);
  const scores = new Map((await readScores(ctx.stores.curated, asAt)).map((s) => [s.familyId, s]));
  const members = new Map<string, TargetFamily['members']>();
  for (const m of await readFamilyMembers(ctx, asAt)) {
    const list = members.get(m.familyId) ?? [];
    list.push({ personId: m.personId, role: m.role, membership: m.membership, ageBand: m.ageBand });
    members.set(m.familyId, list);
  }
  return fams.map((f) => {
    const familyId = f.familyId;
    const s = scores.get(familyId);
    if (!s) throw new Error(`scores: family ${familyId} has no score row for as_at=${asAt}: run stratify first`);
    return {
      familyId,
      locality: f.locality,
      wardCode: f.wardCode,
      score: s.score,
      tier: s.tier,
      headlines: s.headlines,
      threeNeeds: s.threeNeeds,
      openToStatutory: s.openToStatutory,
      reasons: s.reasons,
      statutoryEvidence: s.statutoryEvidence,
      members: (members.get(familyId) ?? []).sort(
        (a, b) => cmp(a.membership, b.membership) || cmp(a.personId, b.personId),
      ),
      flags: f.flags,
      ruleSetVersion: s.ruleSetVersion,
    };
  });
}
