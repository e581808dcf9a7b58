/**
 * Normalization of what desks type, and refusals that name the rule, for each identifier kind.
 */
import { describe, expect, it } from 'vitest';
import { facilitySystem, parseFacilityPatientId } from '../../../src/identifiers/facility-patient-id.ts';
import { parseInsuredMemberId } from '../../../src/identifiers/insured-member-id.ts';
import { parseInsuredNumber, parseInsuredSubnumber, parseInsuredSymbol } from '../../../src/identifiers/insured-parts.ts';
import { DEFAULT_RULES } from '../../../src/identifiers/kind.ts';
import { parseInsurerNumber } from '../../../src/identifiers/insurer-number.ts';
import { parseMedicalInstitutionCode } from '../../../src/identifiers/medical-institution-code.ts';
import { parsePublicPayerMemberId } from '../../../src/identifiers/public-payer-member-id.ts';
import { parsePublicRecipientNumber } from '../../../src/identifiers/public-recipient-number.ts';
import { IdentifierCatalog } from '../../../src/identifiers/catalog.ts';
import { ID_SYSTEMS } from '../../../src/core/systems.ts';

const value = (r: { ok: boolean; value?: string }): string | undefined => (r.ok ? r.value : undefined);

describe('保険者番号', () => {
  it("reads full-width digits, spaces (also the claims format's space padding) and hyphens", () => {
    expect(value(parseInsurerNumber('０６１３８０９３'))).toBe('06138093');
    expect(value(parseInsurerNumber('  138156'))).toBe('00138156');
    expect(value(parseInsurerNumber('0613-8093'))).toBe('06138093');
    expect(value(parseInsurerNumber('6138093'))).toBe('06138093'); // a leading zero lost in a spreadsheet
  });
  it('refuses letters, wrong lengths and bad check digits, naming the rule', () => {
    expect(parseInsurerNumber('0613809A')).toMatchObject({ rule: 'insurer-number.digits' });
    expect(parseInsurerNumber('12345')).toMatchObject({ rule: 'insurer-number.length' });
    expect(parseInsurerNumber('061380934')).toMatchObject({ rule: 'insurer-number.length' });
  });
});

describe('記号・番号・枝番', () => {
  it('keeps plain alphanumerics half-width and makes anything with kana, kanji or symbols full-width', () => {
    expect(value(parseInsuredSymbol('１２３'))).toBe('123');
    expect(value(parseInsuredSymbol('12-34'))).toBe('１２－３４');
    expect(value(parseInsuredSymbol('あいう'))).toBe('あいう');
    expect(value(parseInsuredSymbol('ｱｲｳ'))).toBe('アイウ');
    expect(value(parseInsuredNumber(' １８７ '))).toBe('187');
  });
  it('pads a one-digit 枝番 and never invents one', () => {
    expect(value(parseInsuredSubnumber('5'))).toBe('05');
    expect(value(parseInsuredSubnumber('０５'))).toBe('05');
    expect(value(parseInsuredSubnumber(''))).toBe('');
    expect(parseInsuredSubnumber('123')).toMatchObject({ rule: 'insured-subnumber.format' });
  });
  it('refuses colons and an empty 番号', () => {
    expect(parseInsuredSymbol('a:b')).toMatchObject({ rule: 'insured-symbol.colon' });
    expect(parseInsuredNumber('  ')).toMatchObject({ rule: 'insured-number.empty' });
  });
});

describe('被保険者個人識別子', () => {
  it('accepts the shapes of the CLINS examples (digit-only parts are stored half-width)', () => {
    // CLINS's own example insurer number 00012345 fails the check digit (it should be 00012344).
    expect(parseInsuredMemberId('00012345:あいう:１８７:05')).toMatchObject({ rule: 'insurer-number.check-digit' });
    expect(value(parseInsuredMemberId('00012344:あいう:１８７:05'))).toBe('00012344:あいう:187:05');
    expect(value(parseInsuredMemberId('00012344::１８７:'))).toBe('00012344::187:');
  });
  it('normalizes full-width colons, spaces, an unpadded insurer number and a missing 枝番', () => {
    expect(value(parseInsuredMemberId('06138093：１２－３４：５６７８：０１'))).toBe('06138093:１２－３４:5678:01');
    expect(value(parseInsuredMemberId(' 138156::187 '))).toBe('00138156::187:');
    expect(value(parseInsuredMemberId('06138093:あ い:187:5'))).toBe('06138093:あい:187:05');
  });
  it('refuses a wrong insurer check digit, a bad 枝番 and a wrong shape, saying which', () => {
    expect(parseInsuredMemberId('06138092::187:')).toMatchObject({ rule: 'insurer-number.check-digit' });
    expect(parseInsuredMemberId('06138093::187:123')).toMatchObject({ rule: 'insured-subnumber.format' });
    expect(parseInsuredMemberId('06138093:187')).toMatchObject({ rule: 'insured-member-id.format' });
  });
  it('checks a 後期高齢者 number only when configured', () => {
    const lenient = parseInsuredMemberId('39131156::12345678:', DEFAULT_RULES);
    expect(lenient.ok).toBe(true);
    const strict = parseInsuredMemberId('39131156::12345678:', { ...DEFAULT_RULES, lateElderlyNumberCheckDigit: true });
    expect(strict).toMatchObject({ rule: 'late-elderly-number.check-digit' });
  });
});

describe('公費', () => {
  it('公費受給者番号: pads national numbers to 7 digits, keeps local ones, checks the digit only when configured', () => {
    expect(value(parsePublicRecipientNumber('１２３４５６７', DEFAULT_RULES))).toBe('1234567');
    expect(value(parsePublicRecipientNumber('12345', DEFAULT_RULES))).toBe('0012345');
    expect(value(parsePublicRecipientNumber('AB-1234567890', DEFAULT_RULES))).toBe('AB-1234567890');
    expect(parsePublicRecipientNumber('1234567', { ...DEFAULT_RULES, recipientNumberCheckDigit: true })).toMatchObject({
      rule: 'public-recipient-number.check-digit',
    });
  });
  it('生活保護受給者識別子: normalizes and verifies the payer check digit', () => {
    expect(value(parsePublicPayerMemberId('１２１３１０１７：：１２３４５６７：', DEFAULT_RULES))).toBe('12131017::1234567:');
    expect(value(parsePublicPayerMemberId('12131017::1234567', DEFAULT_RULES))).toBe('12131017::1234567:');
    expect(parsePublicPayerMemberId('12131012::1234567:', DEFAULT_RULES)).toMatchObject({ rule: 'public-payer-number.check-digit' });
    expect(parsePublicPayerMemberId('12131017:x:1234567:', DEFAULT_RULES)).toMatchObject({ rule: 'public-payer-member-id.format' });
  });
});

describe('医療機関コード and facility patient ids', () => {
  it('checks the 10-digit format (the check digit algorithm is unpublished)', () => {
    expect(value(parseMedicalInstitutionCode('１３１２３４５６７８'))).toBe('1312345678');
    expect(value(parseMedicalInstitutionCode('3110215454'))).toBe('3110215454');
    expect(parseMedicalInstitutionCode('131234567')).toMatchObject({ rule: 'medical-institution-code.length' });
    expect(parseMedicalInstitutionCode('5312345678')).toMatchObject({ rule: 'medical-institution-code.format' });
    expect(parseMedicalInstitutionCode('4812345678')).toMatchObject({ rule: 'medical-institution-code.prefecture' });
  });
  it('builds and reads facility systems urn:oid:1.2.392.100495.20.3.51.1 + code', () => {
    expect(facilitySystem('1312345678')).toBe('urn:oid:1.2.392.100495.20.3.51.11312345678');
    expect(value(parseFacilityPatientId(facilitySystem('1312345678'), ' ＡＢ１２３ '))).toBe('AB123');
    expect(parseFacilityPatientId('urn:oid:1.2.392.100495.20.3.51.01312345678', 'x')).toMatchObject({ rule: 'facility-patient-id.system' });
  });
});

describe('the identifier registry', () => {
  const reg = new IdentifierCatalog({ rules: DEFAULT_RULES, medicalIdSystem: ID_SYSTEMS.medicalId });
  it('rewrites legacy OIDs to the URL systems', () => {
    expect(reg.canonicalSystem('urn:oid:1.2.392.100495.20.3.61')).toBe(ID_SYSTEMS.insurerNumber);
    expect(reg.canonicalSystem('urn:example:other')).toBe('urn:example:other');
  });
  it('normalizes search values the same way as stored ones', () => {
    expect(reg.normalizeForSearch(ID_SYSTEMS.insuredMemberId, '０６１３８０９３：：１８７')).toBe('06138093::187:');
    expect(reg.normalizeForSearch(ID_SYSTEMS.insuredMemberId, 'garbage')).toBe('garbage');
    expect(reg.normalizeForSearch('urn:example:x', ' A ')).toBe(' A ');
  });
});
