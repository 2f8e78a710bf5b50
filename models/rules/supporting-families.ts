/**
 * The default rule set: the ten Supporting Families headline outcomes (Outcome Framework 2022-25)
 * mapped onto the facts the four partners (schools, health, police, children's social care) send.
 * Data, not code: validated by ruleSetSchema; the rules table in docs/rules.md is generated from it.
 */
import { parseRuleSet, type RuleSet, type RuleSetInput } from './schema.ts';

export const SUPPORTING_FAMILIES_RULES: RuleSetInput = {
  id: 'supporting-families',
  version: 'sf-2026.1',
  description: 'Supporting Families headline outcomes mapped to schools, health, police and social care facts.',
  headlines: [
    { id: 'education', name: 'Getting a good education' },
    { id: 'early_years', name: 'Good early years development' },
    { id: 'health', name: 'Improved mental and physical health' },
    { id: 'substance_use', name: 'Promoting recovery and reducing harm from substance use', coverageNote: 'No partner feed carries substance-use data yet; add a drug and alcohol service feed to evidence it.' },
    { id: 'family_relationships', name: 'Improved family relationships', coverageNote: 'No feed records parental conflict or child-to-parent violence as such; domestic abuse is evidenced under its own headline.' },
    { id: 'children_safe', name: 'Children safe from abuse and exploitation' },
    { id: 'crime', name: 'Crime prevention and tackling crime' },
    { id: 'domestic_abuse', name: 'Safe from domestic abuse' },
    { id: 'housing', name: 'Secure housing', coverageNote: 'No housing feed (homelessness, temporary accommodation, arrears) yet.' },
    { id: 'financial_stability', name: 'Financial stability', coverageNote: 'No welfare, debt or worklessness feed yet.' },
  ],
  rules: [
    {
      id: 'SF-EDU-01', headline: 'education', title: 'Persistent absence',
      description: 'A child whose attendance over their last three school terms in the past 12 months is below 90% (sessions attended / sessions possible).',
      facts: ['attendance_term'], appliesTo: 'child', timing: 'in_window', lookBack: { months: 12 }, lastN: 3,
      measure: 'weighted_mean', weightField: 'sessions_possible', comparison: 'below', threshold: 0.9, weight: 2,
    },
    {
      id: 'SF-EDU-02', headline: 'education', title: 'Repeated suspensions',
      description: 'A child with three or more suspensions from school in the past 12 months.',
      facts: ['suspension'], appliesTo: 'child', timing: 'in_window', lookBack: { months: 12 }, threshold: 3, weight: 2,
    },
    {
      id: 'SF-EDU-03', headline: 'education', title: 'Permanent exclusion',
      description: 'A child permanently excluded from school in the past 12 months.',
      facts: ['permanent_exclusion'], appliesTo: 'child', timing: 'in_window', lookBack: { months: 12 }, threshold: 1, weight: 3,
    },
    {
      id: 'SF-EDU-04', headline: 'education', title: 'Child missing education',
      description: 'A child currently missing education, or who has been missing education at any point in the past 12 months.',
      facts: ['missing_education'], appliesTo: 'child', timing: 'open_or_in_window', lookBack: { months: 12 }, threshold: 1, weight: 3,
    },
    {
      id: 'SF-EYS-01', headline: 'early_years', title: 'Missed health visitor review',
      description: 'A child who missed a mandated health visitor review (new birth, 6-8 week, 12 month or 2-2.5 year) in the past 24 months.',
      facts: ['health_visitor_review'], where: { detail: { status: ['missed'] } }, appliesTo: 'child', timing: 'in_window', lookBack: { months: 24 }, threshold: 1, weight: 1,
    },
    {
      id: 'SF-EYS-02', headline: 'early_years', title: 'Late antenatal booking',
      description: 'A pregnancy booked for antenatal care at 13 weeks or later (after 12 weeks 6 days) in the past 18 months.',
      facts: ['maternity_booking'], where: { value: { gte: 13 } }, appliesTo: 'any', timing: 'in_window', lookBack: { months: 18 }, threshold: 1, weight: 1,
    },
    {
      id: 'SF-EYS-03', headline: 'early_years', title: 'Smoking at delivery',
      description: 'A mother recorded as smoking at the time of delivery in the past 24 months.',
      facts: ['birth'], where: { detail: { smoking_at_delivery: ['Y'] } }, appliesTo: 'any', timing: 'in_window', lookBack: { months: 24 }, threshold: 1, weight: 1,
    },
    {
      id: 'SF-EYS-04', headline: 'early_years', title: 'Low birth weight',
      description: 'A baby born in the past 24 months weighing under 2,500 g.',
      facts: ['birth'], where: { value: { lt: 2500 } }, appliesTo: 'any', timing: 'in_window', lookBack: { months: 24 }, threshold: 1, weight: 1,
    },
    {
      id: 'SF-EYS-05', headline: 'early_years', title: 'Teenage parent',
      description: 'A mother who booked a pregnancy or gave birth before her 20th birthday, in the past 24 months.',
      facts: ['maternity_booking', 'birth'], where: { subjectAgeUnder: 20 }, appliesTo: 'any', timing: 'in_window', lookBack: { months: 24 }, threshold: 1, weight: 2,
    },
    {
      id: 'SF-HLT-01', headline: 'health', title: 'Perinatal mental health',
      description: 'A parent currently referred to perinatal mental health services, or referred in the past 12 months.',
      facts: ['perinatal_mental_health'], appliesTo: 'any', timing: 'open_or_in_window', lookBack: { months: 12 }, threshold: 1, weight: 2,
    },
    {
      id: 'SF-SAF-01', headline: 'children_safe', title: 'Missing from home',
      description: 'A child reported missing from home to the police in the past 12 months.',
      facts: ['police_incident'], where: { detail: { incident_type: ['missing_from_home'] } }, appliesTo: 'child', timing: 'in_window', lookBack: { months: 12 }, threshold: 1, weight: 2,
    },
    {
      id: 'SF-SAF-02', headline: 'children_safe', title: 'Repeat referrals',
      description: 'A child referred to children\'s social care two or more times in the past 12 months.',
      facts: ['social_care_episode'], where: { detail: { episode_type: ['referral'] } }, appliesTo: 'child', timing: 'in_window', lookBack: { months: 12 }, threshold: 2, weight: 2,
    },
    {
      id: 'SF-SAF-03', headline: 'children_safe', title: 'Recently closed CIN or CP',
      description: 'A child whose child in need or child protection plan episode closed in the past 12 months.',
      facts: ['social_care_episode'], where: { detail: { episode_type: ['child_in_need', 'child_protection_plan'] } }, appliesTo: 'child', timing: 'ended_in_window', lookBack: { months: 12 }, threshold: 1, weight: 3,
    },
    {
      id: 'SF-DA-01', headline: 'domestic_abuse', title: 'Domestic abuse incident',
      description: 'A police-recorded domestic abuse incident in the past 12 months in which a family member was the victim, the perpetrator or a child present.',
      facts: ['police_incident'], where: { detail: { incident_type: ['domestic_abuse'], role: ['victim', 'perpetrator', 'child_present'] } }, appliesTo: 'any', timing: 'in_window', lookBack: { months: 12 }, distinctBy: 'detail.incident_ref', scope: 'family', threshold: 1, weight: 3,
    },
    {
      id: 'SF-CRM-01', headline: 'crime', title: 'Crime or anti-social behaviour',
      description: 'A family member involved as a suspect, perpetrator or participant in a police-recorded crime or anti-social behaviour incident in the past 12 months.',
      facts: ['police_incident'], where: { detail: { incident_type: ['crime', 'anti_social_behaviour'], role: ['suspect', 'perpetrator', 'involved'] } }, appliesTo: 'any', timing: 'in_window', lookBack: { months: 12 }, distinctBy: 'detail.incident_ref', scope: 'family', threshold: 1, weight: 2,
    },
  ],
};

export function defaultRuleSet(): RuleSet {
  return parseRuleSet(SUPPORTING_FAMILIES_RULES, 'default rule set (models/rules/supporting-families.ts)');
}
