import { describe, expect, it } from 'vitest';
import { FACT_FEEDS, FACT_TYPES } from '../../models/facts.ts';
import { contractFor } from '../../pipelines/feeds/index.ts';
import { FEEDS } from '../../pipelines/feeds/catalogue.ts';
import { factsOf, relationshipsOf } from '../../pipelines/feeds/mappers.ts';

describe('feed mappers', () => {
  it('map every event feed to at least one fact type', () => {
    const sample: Record<string, Record<string, string>> = {
      'schools/attendance': {
        record_ref: 'A1',
        person_ref: 'S1',
        term: '2025-AUT',
        term_start: '2025-09-03',
        term_end: '2025-12-19',
        sessions_possible: '200',
        sessions_attended: '170',
      },
      'schools/suspensions': {
        record_ref: 'X1',
        person_ref: 'S1',
        start_date: '2025-10-01',
        category: 'suspension',
        days: '2.5',
      },
      'schools/missing_education': { record_ref: 'M1', person_ref: 'S1', start_date: '2025-10-01', end_date: '' },
      'health/maternity': {
        record_ref: 'MAT1',
        person_ref: 'H1',
        baby_person_ref: 'H2',
        booking_date: '2025-03-01',
        gestation_at_booking_weeks: '22',
        estimated_delivery_date: '2025-09-20',
        delivery_date: '2025-09-18',
        smoking_at_delivery: 'Y',
        birth_weight_grams: '2400',
      },
      'health/health_visiting': {
        record_ref: 'V1',
        person_ref: 'H2',
        review: 'new_birth',
        due_date: '2025-09-30',
        status: 'missed',
        contact_date: '',
      },
      'health/perinatal_mental_health': {
        record_ref: 'PM1',
        person_ref: 'H1',
        referral_date: '2025-10-01',
        end_date: '',
      },
      'police/incidents': {
        record_ref: 'I1-1',
        incident_ref: 'I1',
        person_ref: 'N1',
        incident_date: '2025-11-11',
        incident_type: 'domestic_abuse',
        role: 'victim',
        postcode: 'm14 5rb',
      },
      'social_care/episodes': {
        record_ref: 'E1',
        person_ref: 'C1',
        episode_type: 'child_protection_plan',
        start_date: '2025-01-01',
        end_date: '',
      },
      'police/family_incidents': {
        record_ref: 'F1-1',
        incident_ref: 'F1',
        person_ref: 'N2',
        incident_date: '2025-12-01',
        category: 'child_to_parent_violence',
        role: 'perpetrator',
      },
      'housing/homelessness': {
        record_ref: 'HC1',
        person_ref: 'HS1',
        application_date: '2025-08-01',
        duty: 'relief',
        duty_end_date: '',
      },
      'housing/temporary_accommodation': {
        record_ref: 'TA1',
        person_ref: 'HS1',
        placement_type: 'hostel',
        start_date: '2025-08-10',
        end_date: '2025-12-01',
      },
      'housing/tenancy_actions': {
        record_ref: 'TN1',
        person_ref: 'HS1',
        action_date: '2025-06-01',
        action: 'notice_seeking_possession',
        arrears_weeks: '9',
      },
      'revenues_benefits/council_tax_arrears': {
        record_ref: 'CT1',
        person_ref: 'RB1',
        stage_date: '2025-07-01',
        recovery_stage: 'liability_order',
        arrears_pounds: '640',
      },
      'revenues_benefits/awards': {
        record_ref: 'AW1',
        person_ref: 'RB2',
        award: 'free_school_meals',
        start_date: '2024-09-01',
        end_date: '',
      },
      'drug_alcohol/treatment': {
        record_ref: 'DT1',
        person_ref: 'DA1',
        service: 'adult',
        substance: 'alcohol',
        referral_date: '2025-05-01',
        treatment_start: '',
        discharge_date: '',
      },
      'youth_justice/outcomes': {
        record_ref: 'YO1',
        person_ref: 'YJ1',
        outcome_date: '2025-10-01',
        outcome: 'youth_caution',
        first_time_entrant: 'Y',
      },
    };
    for (const f of FEEDS.filter((x) => x.kind === 'events')) {
      const row = sample[`${f.source}/${f.feed}`];
      expect(row, `${f.source}/${f.feed} has a sample`).toBeDefined();
      const facts = factsOf(f.source, f.feed, row!);
      expect(facts.length).toBeGreaterThan(0);
      for (const fact of facts) {
        expect(FACT_TYPES).toContain(fact.type);
        // FACT_FEEDS (what "not evidenced" is decided from) names the feed each fact type comes from
        expect(FACT_FEEDS[fact.type], fact.type).toContain(`${f.source}/${f.feed}`);
      }
      // and every sample row is valid for its feed's contract
      expect(
        contractFor(f.source, f.feed)!.rowSchema().safeParse(row).success,
        `${f.source}/${f.feed} sample is valid`,
      ).toBe(true);
    }
    for (const [type, feeds] of Object.entries(FACT_FEEDS))
      for (const feed of feeds)
        expect(
          FEEDS.some((f) => `${f.source}/${f.feed}` === feed),
          `${type} from ${feed}`,
        ).toBe(true);
    expect(factsOf('schools', 'attendance', sample['schools/attendance']!)[0]).toEqual({
      factId: 'schools:attendance:A1',
      type: 'attendance_term',
      source: 'schools',
      feed: 'attendance',
      recordRef: 'A1',
      recordId: 'schools:pupils:S1',
      date: '2025-09-03',
      endDate: '2025-12-19',
      value: 0.85,
      detail: { sessions_attended: '170', sessions_possible: '200', term: '2025-AUT' },
    });
    const mat = factsOf('health', 'maternity', sample['health/maternity']!);
    expect(mat.map((f) => [f.factId, f.type, f.date, f.value])).toEqual([
      ['health:maternity:MAT1', 'maternity_booking', '2025-03-01', 22],
      ['health:maternity:MAT1#birth', 'birth', '2025-09-18', 2400],
    ]);
    expect(mat[1]!.detail).toEqual({ baby_record_id: 'health:people:H2', smoking_at_delivery: 'Y' });
    expect(
      factsOf('health', 'maternity', {
        ...sample['health/maternity']!,
        delivery_date: '',
        birth_weight_grams: '',
        baby_person_ref: '',
      }),
    ).toHaveLength(1);
    expect(
      factsOf('schools', 'suspensions', {
        ...sample['schools/suspensions']!,
        category: 'permanent_exclusion',
        days: '',
      })[0],
    ).toMatchObject({ type: 'permanent_exclusion', value: null });
    const inc = factsOf('police', 'incidents', sample['police/incidents']!)[0]!;
    expect(inc.detail).toEqual({
      incident_ref: 'I1',
      incident_type: 'domestic_abuse',
      postcode_district: 'M14',
      role: 'victim',
    });
    expect(factsOf('health', 'health_visiting', sample['health/health_visiting']!)[0]!.date).toBe('2025-09-30');
    expect(factsOf('drug_alcohol', 'treatment', sample['drug_alcohol/treatment']!)[0]).toMatchObject({
      type: 'substance_treatment',
      recordId: 'drug_alcohol:people:DA1',
      endDate: null,
      detail: { service: 'adult', status: 'referred' },
    });
    expect(
      factsOf('drug_alcohol', 'treatment', { ...sample['drug_alcohol/treatment']!, treatment_start: '2025-05-20' })[0]!
        .detail.status,
    ).toBe('in_treatment');
    expect(factsOf('youth_justice', 'outcomes', sample['youth_justice/outcomes']!)[0]!.detail).toEqual({
      disposal: 'out_of_court',
      first_time_entrant: 'Y',
      outcome: 'youth_caution',
    });
    expect(
      factsOf('youth_justice', 'outcomes', { ...sample['youth_justice/outcomes']!, outcome: 'referral_order' })[0]!
        .detail.disposal,
    ).toBe('court');
    expect(factsOf('housing', 'tenancy_actions', sample['housing/tenancy_actions']!)[0]).toMatchObject({
      type: 'tenancy_action',
      value: 9,
      detail: { action: 'notice_seeking_possession' },
    });
    expect(factsOf('police', 'family_incidents', sample['police/family_incidents']!)[0]!.detail).toEqual({
      category: 'child_to_parent_violence',
      incident_ref: 'F1',
      role: 'perpetrator',
    });
  });

  it('map relationships: social care, school contact -> pupil, maternity mother -> baby', () => {
    expect(
      relationshipsOf('social_care', 'relationships', {
        record_ref: 'R1',
        person_ref: 'C2',
        related_person_ref: 'C1',
        relationship: 'grandparent',
        group_ref: 'G1',
        start_date: '',
        end_date: '',
      }),
    ).toEqual([
      {
        relationshipId: 'social_care:relationships:R1',
        source: 'social_care',
        feed: 'relationships',
        recordRef: 'R1',
        fromRecordId: 'social_care:people:C2',
        toRecordId: 'social_care:people:C1',
        relationship: 'grandparent',
        groupRef: 'G1',
        startDate: null,
        endDate: null,
      },
    ]);
    expect(
      relationshipsOf('schools', 'contacts', { person_ref: 'K1', pupil_person_ref: 'S1', relationship: 'father' })[0],
    ).toMatchObject({
      fromRecordId: 'schools:contacts:K1',
      toRecordId: 'schools:pupils:S1',
      relationship: 'father',
    });
    expect(
      relationshipsOf('health', 'maternity', {
        record_ref: 'MAT1',
        person_ref: 'H1',
        baby_person_ref: 'H2',
        delivery_date: '2025-09-18',
      })[0],
    ).toMatchObject({
      fromRecordId: 'health:people:H1',
      toRecordId: 'health:people:H2',
      relationship: 'mother',
      startDate: '2025-09-18',
    });
    expect(
      relationshipsOf('health', 'maternity', { record_ref: 'MAT1', person_ref: 'H1', baby_person_ref: '' }),
    ).toEqual([]);
  });
});
