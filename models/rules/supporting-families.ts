/**
 * The default rule set: the ten Supporting Families headline outcomes (Outcome Framework 2022-25)
 * mapped onto the facts the partners send (schools, health, police, children's social care, housing, council
 * revenues and benefits, the drug and alcohol service, the youth justice service). Each rule's description cites
 * its headline and indicator in the 2022-25 Supporting Families Outcome Framework; docs/rules.md explains the weights.
 * Data, not code: validated by ruleSetSchema; the rules table in docs/rules.md is generated from it.
 */
import { parseRuleSet, type RuleSet, type RuleSetInput } from './schema.ts';

export const SUPPORTING_FAMILIES_RULES: RuleSetInput = {
  id: 'supporting-families',
  version: 'sf-2026.2',
  description: "Supporting Families headline outcomes (2022-25 framework) mapped to the partners' facts.",
  headlines: [
    { id: 'education', name: 'Getting a good education' },
    { id: 'early_years', name: 'Good early years development' },
    { id: 'health', name: 'Improved mental and physical health' },
    { id: 'substance_use', name: 'Better managed substance use' },
    { id: 'family_relationships', name: 'Improved family relationships' },
    { id: 'children_safe', name: 'Children safe from abuse and exploitation' },
    { id: 'crime', name: 'Families diverted from crime' },
    { id: 'domestic_abuse', name: 'Safe from domestic abuse' },
    { id: 'housing', name: 'Secure housing' },
    { id: 'financial_stability', name: 'Financial stability' },
  ],
  rules: [
    // ---- Getting a good education ---------------------------------------------------------------
    {
      id: 'SF-EDU-01',
      headline: 'education',
      title: 'Persistent absence',
      description:
        'A child whose attendance over their last three school terms in the past 12 months is below 90% (sessions attended / sessions possible). Framework 2022-25, Getting a good education: persistent absence (below 90% attendance).',
      facts: ['attendance_term'],
      appliesTo: 'child',
      timing: 'in_window',
      lookBack: { months: 12 },
      lastN: 3,
      measure: 'weighted_mean',
      weightField: 'sessions_possible',
      comparison: 'below',
      threshold: 0.9,
      weight: 2,
      outcome: {
        kind: 'measure_since',
        threshold: 0.9,
        minFacts: 2,
        description:
          'Attendance at or above 90% over the school terms since the case opened (at least two terms recorded).',
      },
    },
    {
      id: 'SF-EDU-02',
      headline: 'education',
      title: 'Repeated suspensions',
      description:
        'A child with three or more suspensions from school in the past 12 months. Framework 2022-25, Getting a good education: suspensions (fixed-term exclusions).',
      facts: ['suspension'],
      appliesTo: 'child',
      timing: 'in_window',
      lookBack: { months: 12 },
      threshold: 3,
      weight: 2,
      outcome: { kind: 'none_since', description: 'No further suspension since the case opened.' },
    },
    {
      id: 'SF-EDU-03',
      headline: 'education',
      title: 'Permanent exclusion',
      description:
        'A child permanently excluded from school in the past 12 months. Framework 2022-25, Getting a good education: permanent exclusion.',
      facts: ['permanent_exclusion'],
      appliesTo: 'child',
      timing: 'in_window',
      lookBack: { months: 12 },
      threshold: 1,
      weight: 3,
      outcome: { kind: 'none_since', description: 'No further permanent exclusion since the case opened.' },
    },
    {
      id: 'SF-EDU-04',
      headline: 'education',
      title: 'Child missing education',
      description:
        'A child currently missing education, or who has been missing education at any point in the past 12 months. Framework 2022-25, Getting a good education: child missing education.',
      facts: ['missing_education'],
      appliesTo: 'child',
      timing: 'open_or_in_window',
      lookBack: { months: 12 },
      threshold: 1,
      weight: 3,
      outcome: {
        kind: 'none_since',
        description:
          'Not missing education at the as-at date, and no new spell missing education since the case opened.',
      },
    },
    // ---- Good early years development ---------------------------------------------------------
    {
      id: 'SF-EYS-01',
      headline: 'early_years',
      title: 'Missed health visitor review',
      description:
        'A child who missed a mandated health visitor review (new birth, 6-8 week, 12 month or 2-2.5 year) in the past 24 months. Framework 2022-25, Good early years development: the child is not accessing the mandated health visiting contacts.',
      facts: ['health_visitor_review'],
      where: { detail: { status: ['missed'] } },
      appliesTo: 'child',
      timing: 'in_window',
      lookBack: { months: 24 },
      threshold: 1,
      weight: 1,
      outcome: {
        kind: 'none_since',
        description: 'No further missed mandated health visitor review since the case opened.',
      },
    },
    {
      id: 'SF-EYS-02',
      headline: 'early_years',
      title: 'Late antenatal booking',
      description:
        'A pregnancy booked for antenatal care at 13 weeks or later (after 12 weeks 6 days) in the past 18 months. Framework 2022-25, Good early years development: parents not engaging with antenatal care.',
      facts: ['maternity_booking'],
      where: { value: { gte: 13 } },
      appliesTo: 'any',
      timing: 'in_window',
      lookBack: { months: 18 },
      threshold: 1,
      weight: 1,
      outcome: {
        kind: 'any_since',
        facts: ['health_visitor_review'],
        where: { detail: { status: ['completed'] } },
        description:
          'A mandated health visitor review completed since the case opened (the family engaging with early years health services).',
      },
    },
    {
      id: 'SF-EYS-03',
      headline: 'early_years',
      title: 'Smoking at delivery',
      description:
        'A mother recorded as smoking at the time of delivery in the past 24 months. Framework 2022-25, Good early years development: a healthy pregnancy and start in life (smoking in pregnancy).',
      facts: ['birth'],
      where: { detail: { smoking_at_delivery: ['Y'] } },
      appliesTo: 'any',
      timing: 'in_window',
      lookBack: { months: 24 },
      threshold: 1,
      weight: 1,
      outcome: {
        kind: 'any_since',
        facts: ['health_visitor_review'],
        where: { detail: { status: ['completed'] } },
        description:
          'A mandated health visitor review completed since the case opened (the family engaging with early years health services).',
      },
    },
    {
      id: 'SF-EYS-04',
      headline: 'early_years',
      title: 'Low birth weight',
      description:
        'A baby born in the past 24 months weighing under 2,500 g. Framework 2022-25, Good early years development: a healthy start in life (low birth weight).',
      facts: ['birth'],
      where: { value: { lt: 2500 } },
      appliesTo: 'any',
      timing: 'in_window',
      lookBack: { months: 24 },
      threshold: 1,
      weight: 1,
      outcome: {
        kind: 'any_since',
        facts: ['health_visitor_review'],
        where: { detail: { status: ['completed'] } },
        description:
          "A mandated health visitor review completed since the case opened (the baby's growth and development checked).",
      },
    },
    {
      id: 'SF-EYS-05',
      headline: 'early_years',
      title: 'Teenage parent',
      description:
        'A mother who booked a pregnancy or gave birth before her 20th birthday, in the past 24 months. Framework 2022-25, Good early years development: young parents needing support in the first years.',
      facts: ['maternity_booking', 'birth'],
      where: { subjectAgeUnder: 20 },
      appliesTo: 'any',
      timing: 'in_window',
      lookBack: { months: 24 },
      threshold: 1,
      weight: 2,
      outcome: {
        kind: 'any_since',
        facts: ['health_visitor_review'],
        where: { detail: { status: ['completed'] } },
        description:
          'A mandated health visitor review completed since the case opened (the young parent engaging with health visiting).',
      },
    },
    // ---- Improved mental and physical health -----------------------------------------------------
    {
      id: 'SF-HLT-01',
      headline: 'health',
      title: 'Perinatal mental health',
      description:
        'A parent currently referred to perinatal mental health services, or referred in the past 12 months. Framework 2022-25, Improved mental and physical health: an adult with a mental health need (perinatal).',
      facts: ['perinatal_mental_health'],
      appliesTo: 'any',
      timing: 'open_or_in_window',
      lookBack: { months: 12 },
      threshold: 1,
      weight: 2,
      outcome: {
        kind: 'none_since',
        description:
          'No longer open to perinatal mental health services at the as-at date, and no new referral since the case opened.',
      },
    },
    // ---- Better managed substance use ----------------------------------------------------------
    {
      id: 'SF-SUB-01',
      headline: 'substance_use',
      title: 'Adult in drug or alcohol treatment',
      description:
        'An adult in treatment with, or referred to, the drug and alcohol service: a journey open at the as-at date or referred in the past 12 months. Framework 2022-25, Better managed substance use: an adult with a drug or alcohol problem (in or referred to structured treatment).',
      facts: ['substance_treatment'],
      where: { detail: { service: ['adult'] } },
      appliesTo: 'adult',
      timing: 'open_or_in_window',
      lookBack: { months: 12 },
      threshold: 1,
      weight: 3,
      outcome: {
        kind: 'none_since',
        description:
          'Discharged from the drug and alcohol service by the as-at date, and no new referral since the case opened.',
      },
    },
    {
      id: 'SF-SUB-02',
      headline: 'substance_use',
      title: 'Young person in substance misuse service',
      description:
        "A child in treatment with, or referred to, the young people's substance misuse service: open at the as-at date or referred in the past 12 months. Framework 2022-25, Better managed substance use: a child or young person with a drug or alcohol problem.",
      facts: ['substance_treatment'],
      where: { detail: { service: ['young_person'] } },
      appliesTo: 'child',
      timing: 'open_or_in_window',
      lookBack: { months: 12 },
      threshold: 1,
      weight: 3,
      outcome: {
        kind: 'none_since',
        description:
          "Discharged from the young people's substance misuse service by the as-at date, and no new referral since the case opened.",
      },
    },
    // ---- Improved family relationships -----------------------------------------------------------
    {
      id: 'SF-FAM-01',
      headline: 'family_relationships',
      title: 'Parental conflict',
      description:
        'A police-recorded non-crime domestic incident or parental-conflict call-out involving a family member in the past 12 months. Framework 2022-25, Improved family relationships: harmful levels of parental conflict (conflict not amounting to domestic abuse).',
      facts: ['family_incident'],
      where: { detail: { category: ['non_crime_domestic', 'parental_conflict'] } },
      appliesTo: 'any',
      timing: 'in_window',
      lookBack: { months: 12 },
      distinctBy: 'detail.incident_ref',
      scope: 'family',
      threshold: 1,
      weight: 2,
      outcome: {
        kind: 'none_since',
        description:
          'No further police-recorded non-crime domestic incident or parental-conflict call-out since the case opened.',
      },
    },
    {
      id: 'SF-FAM-02',
      headline: 'family_relationships',
      title: 'Child-to-parent violence',
      description:
        'A police-recorded incident in the past 12 months of a child violent or abusive towards a parent or carer in the family. Framework 2022-25, Improved family relationships: child-to-parent violence and abuse.',
      facts: ['family_incident'],
      where: { detail: { category: ['child_to_parent_violence'] } },
      appliesTo: 'any',
      timing: 'in_window',
      lookBack: { months: 12 },
      distinctBy: 'detail.incident_ref',
      scope: 'family',
      threshold: 1,
      weight: 3,
      outcome: {
        kind: 'none_since',
        description: 'No further incident of child-to-parent violence since the case opened.',
      },
    },
    // ---- Children safe from abuse and exploitation ------------------------------------------------
    {
      id: 'SF-SAF-01',
      headline: 'children_safe',
      title: 'Missing from home',
      description:
        'A child reported missing from home to the police in the past 12 months. Framework 2022-25, Children safe from abuse and exploitation: a child reported missing (a risk of exploitation).',
      facts: ['police_incident'],
      where: { detail: { incident_type: ['missing_from_home'] } },
      appliesTo: 'child',
      timing: 'in_window',
      lookBack: { months: 12 },
      threshold: 1,
      weight: 2,
      outcome: { kind: 'none_since', description: 'No further missing-from-home report since the case opened.' },
    },
    {
      id: 'SF-SAF-02',
      headline: 'children_safe',
      title: 'Repeat referrals',
      description:
        "A child referred to children's social care two or more times in the past 12 months. Framework 2022-25, Children safe from abuse and exploitation: a child with repeat contacts or referrals to children's social care.",
      facts: ['social_care_episode'],
      where: { detail: { episode_type: ['referral'] } },
      appliesTo: 'child',
      timing: 'in_window',
      lookBack: { months: 12 },
      threshold: 2,
      weight: 2,
      outcome: {
        kind: 'none_since',
        description: "No further referral to children's social care since the case opened.",
      },
    },
    {
      id: 'SF-SAF-03',
      headline: 'children_safe',
      title: 'Recently closed CIN or CP',
      description:
        'A child whose child in need or child protection plan episode closed in the past 12 months. Framework 2022-25, Children safe from abuse and exploitation: a child stepped down from statutory social care (child in need or child protection).',
      facts: ['social_care_episode'],
      where: { detail: { episode_type: ['child_in_need', 'child_protection_plan'] } },
      appliesTo: 'child',
      timing: 'ended_in_window',
      lookBack: { months: 12 },
      threshold: 1,
      weight: 3,
      outcome: {
        kind: 'none_since',
        facts: ['social_care_episode'],
        where: { detail: { episode_type: ['child_in_need', 'child_protection_plan', 'looked_after'] } },
        description:
          'No new child in need or child protection plan episode, and not looked after, since the case opened; none open at the as-at date.',
      },
    },
    // ---- Families diverted from crime -------------------------------------------------------------
    {
      id: 'SF-CRM-01',
      headline: 'crime',
      title: 'Crime or anti-social behaviour',
      description:
        'A family member involved as a suspect, perpetrator or participant in a police-recorded crime or anti-social behaviour incident in the past 12 months. Framework 2022-25, Families diverted from crime: an adult or child involved in crime or anti-social behaviour.',
      facts: ['police_incident'],
      where: {
        detail: { incident_type: ['crime', 'anti_social_behaviour'], role: ['suspect', 'perpetrator', 'involved'] },
      },
      appliesTo: 'any',
      timing: 'in_window',
      lookBack: { months: 12 },
      distinctBy: 'detail.incident_ref',
      scope: 'family',
      threshold: 1,
      weight: 2,
      outcome: {
        kind: 'none_since',
        description:
          'No further crime or anti-social behaviour incident involving a family member as suspect, perpetrator or participant since the case opened.',
      },
    },
    {
      id: 'SF-CRM-02',
      headline: 'crime',
      title: 'Youth out-of-court disposal',
      description:
        'A child given an out-of-court disposal by the youth justice service (community resolution, youth caution or youth conditional caution) in the past 12 months. Framework 2022-25, Families diverted from crime: a child who has committed an offence (out-of-court disposal).',
      facts: ['youth_justice_outcome'],
      where: { detail: { disposal: ['out_of_court'] } },
      appliesTo: 'child',
      timing: 'in_window',
      lookBack: { months: 12 },
      threshold: 1,
      weight: 2,
      outcome: { kind: 'none_since', description: 'No further out-of-court disposal since the case opened.' },
    },
    {
      id: 'SF-CRM-03',
      headline: 'crime',
      title: 'Youth court order',
      description:
        'A child given a court disposal (referral order, youth rehabilitation order or custodial sentence) in the past 12 months. Framework 2022-25, Families diverted from crime: a child who has committed a proven offence (court order).',
      facts: ['youth_justice_outcome'],
      where: { detail: { disposal: ['court'] } },
      appliesTo: 'child',
      timing: 'in_window',
      lookBack: { months: 12 },
      threshold: 1,
      weight: 3,
      outcome: { kind: 'none_since', description: 'No further court disposal since the case opened.' },
    },
    {
      id: 'SF-CRM-04',
      headline: 'crime',
      title: 'First-time entrant to youth justice',
      description:
        'A child who became a first-time entrant to the youth justice system (first caution or conviction) in the past 12 months; adds to the disposal rule. Framework 2022-25, Families diverted from crime: first-time entrants to the youth justice system.',
      facts: ['youth_justice_outcome'],
      where: { detail: { first_time_entrant: ['Y'] } },
      appliesTo: 'child',
      timing: 'in_window',
      lookBack: { months: 12 },
      threshold: 1,
      weight: 1,
      outcome: {
        kind: 'none_since',
        facts: ['youth_justice_outcome'],
        description: 'No further youth justice outcome (no further offence) since the case opened.',
      },
    },
    // ---- Safe from domestic abuse ------------------------------------------------------------------
    {
      id: 'SF-DA-01',
      headline: 'domestic_abuse',
      title: 'Domestic abuse incident',
      description:
        'A police-recorded domestic abuse incident in the past 12 months in which a family member was the victim, the perpetrator or a child present. Framework 2022-25, Safe from domestic abuse: a family member affected by domestic abuse (victim, perpetrator or child witness).',
      facts: ['police_incident'],
      where: { detail: { incident_type: ['domestic_abuse'], role: ['victim', 'perpetrator', 'child_present'] } },
      appliesTo: 'any',
      timing: 'in_window',
      lookBack: { months: 12 },
      distinctBy: 'detail.incident_ref',
      scope: 'family',
      threshold: 1,
      weight: 3,
      outcome: {
        kind: 'none_since',
        description:
          'No further police-recorded domestic abuse incident involving a family member since the case opened.',
      },
    },
    // ---- Secure housing -----------------------------------------------------------------------------
    {
      id: 'SF-HOU-01',
      headline: 'housing',
      title: 'Homeless or threatened with homelessness',
      description:
        'A homelessness application in the past 12 months, or a duty still owed, where the prevention, relief or main housing duty was owed. Framework 2022-25, Secure housing: a family homeless or threatened with homelessness (owed a statutory homelessness duty).',
      facts: ['homelessness_application'],
      where: { detail: { duty: ['prevention', 'relief', 'main'] } },
      appliesTo: 'any',
      timing: 'open_or_in_window',
      lookBack: { months: 12 },
      scope: 'family',
      threshold: 1,
      weight: 3,
      outcome: {
        kind: 'none_since',
        description:
          'No homelessness duty owed at the as-at date, and no new homelessness application with a duty since the case opened.',
      },
    },
    {
      id: 'SF-HOU-02',
      headline: 'housing',
      title: 'In temporary accommodation',
      description:
        'A family member in temporary accommodation at the as-at date or placed there in the past 12 months. Framework 2022-25, Secure housing: a family living in temporary accommodation.',
      facts: ['temporary_accommodation'],
      appliesTo: 'any',
      timing: 'open_or_in_window',
      lookBack: { months: 12 },
      scope: 'family',
      threshold: 1,
      weight: 2,
      outcome: {
        kind: 'none_since',
        description: 'Out of temporary accommodation by the as-at date, and no new placement since the case opened.',
      },
    },
    {
      id: 'SF-HOU-03',
      headline: 'housing',
      title: 'Rent arrears or eviction action',
      description:
        'Rent arrears escalated, a notice seeking possession, a possession order or an eviction against a family member in the past 12 months. Framework 2022-25, Secure housing: a family at risk of eviction (rent arrears, notice or possession action).',
      facts: ['tenancy_action'],
      appliesTo: 'adult',
      timing: 'in_window',
      lookBack: { months: 12 },
      scope: 'family',
      threshold: 1,
      weight: 2,
      outcome: {
        kind: 'none_since',
        description: 'No further rent arrears escalation, notice, possession order or eviction since the case opened.',
      },
    },
    // ---- Financial stability ----------------------------------------------------------------------
    {
      id: 'SF-FIN-01',
      headline: 'financial_stability',
      title: 'Council tax arrears at summons',
      description:
        'Council tax recovery against a family member reached a summons, liability order or enforcement agent in the past 12 months. Framework 2022-25, Financial stability: a family with problem debt (priority debt such as council tax arrears).',
      facts: ['council_tax_arrears'],
      where: { detail: { recovery_stage: ['summons', 'liability_order', 'enforcement_agent'] } },
      appliesTo: 'adult',
      timing: 'in_window',
      lookBack: { months: 12 },
      scope: 'family',
      threshold: 1,
      weight: 2,
      outcome: {
        kind: 'none_since',
        description: 'No further council tax recovery at summons or beyond since the case opened.',
      },
    },
    {
      id: 'SF-FIN-02',
      headline: 'financial_stability',
      title: 'Workless household',
      description:
        'An adult in the family on an out-of-work benefit at the as-at date. Framework 2022-25, Financial stability: an adult out of work (worklessness).',
      facts: ['benefit_award'],
      where: { detail: { award: ['out_of_work_benefit'] } },
      appliesTo: 'adult',
      timing: 'open_at_as_at',
      lookBack: { months: 12 },
      threshold: 1,
      weight: 1,
      outcome: {
        kind: 'not_open',
        description: 'No adult in the family on an out-of-work benefit at the as-at date (an adult in work).',
      },
    },
    {
      id: 'SF-FIN-03',
      headline: 'financial_stability',
      title: 'Free school meals eligibility',
      description:
        'A child eligible for benefits-related free school meals at the as-at date. Framework 2022-25, Financial stability: a family on a low income (free school meals eligibility as the marker).',
      facts: ['benefit_award'],
      where: { detail: { award: ['free_school_meals'] } },
      appliesTo: 'child',
      timing: 'open_at_as_at',
      lookBack: { months: 12 },
      threshold: 1,
      weight: 1,
      outcome: {
        kind: 'not_open',
        description:
          'No child eligible for benefits-related free school meals at the as-at date (the family income above the threshold).',
      },
    },
  ],
};

export function defaultRuleSet(): RuleSet {
  return parseRuleSet(SUPPORTING_FAMILIES_RULES, 'default rule set (models/rules/supporting-families.ts)');
}
