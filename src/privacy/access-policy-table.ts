/**
 * The access policy as Markdown, generated from ACCESS_POLICY: the README's policy section and
 * the IG's access-policy page are this text (a test compares the README with it), so the
 * documents cannot drift from the rules the server enforces.
 */
import type { CallerKind } from '../core/principal.ts';
import { ACCESS_POLICY, DIRECTORY_TYPES } from './access-policy.ts';
import type { Reach, TypeClass, TypeRule } from './access-policy.ts';

const CLASSES: readonly [TypeClass, string][] = [
  ['registry', 'Patient (the registry Patient)'],
  ['personal', 'the Patient compartment (Observation, Condition, Coverage, Consent, Task…)'],
  ['directory', 'the directory and conformance resources'],
  ['other', 'every other type'],
];

const RELATIONSHIP: Record<string, string> = {
  research: 'everyone whose Consents neither deny it nor opt out of the system',
  care: 'a valid eligibility confirmation by it within `MEDID_CARE_RELATIONSHIP_DAYS` (90), a permit Consent naming it, or its break-the-glass grant',
  membership: 'an insured or public-payer member id under its number, current or ended within `MEDID_MEMBERSHIP_RETENTION_DAYS` (365)',
  consent: 'a permit Consent naming it',
  self: 'the one person the token was issued for (SMART standalone patient launch through the person identity provider): their own records and the AuditEvents about them, whatever their Consents say of others; writes only their own Consents',
};

const cell = (r: TypeRule): string => `${r.read} / ${r.write}`;
const KINDS = Object.keys(ACCESS_POLICY) as CallerKind[];

export function accessPolicyMarkdown(): string {
  const out: string[] = [];
  out.push(
    'Read / write reach per organization kind: **all** rows, **related** rows (about persons within reach, after their Consents), **own** (what its own client did), **none** (403 naming the rule). A row outside reach answers 404, like an unknown one.',
    '',
    `| | ${KINDS.join(' | ')} |`,
    `|---|${KINDS.map(() => '---').join('|')}|`,
  );
  for (const [c, label] of CLASSES) out.push(`| ${label} | ${KINDS.map((k) => cell(ACCESS_POLICY[k].classes[c])).join(' | ')} |`);
  const overridden = [...new Set(KINDS.flatMap((k) => Object.keys(ACCESS_POLICY[k].types)))].sort();
  for (const t of overridden) {
    out.push(
      `| ${t} | ${KINDS.map((k) => {
        const r = ACCESS_POLICY[k].types[t];
        return r ? `**${cell(r)}**` : '(class)';
      }).join(' | ')} |`,
    );
  }
  out.push(`| \`$match\`, \`$ihe-pix\` name | ${KINDS.map((k) => reachText(ACCESS_POLICY[k].identify)).join(' | ')} |`);
  out.push(`| operations | ${KINDS.map((k) => ACCESS_POLICY[k].operations.map((o) => `\`${o}\``).join(' ')).join(' | ')} |`);
  out.push(`| purposes of use (first = default) | ${KINDS.map((k) => ACCESS_POLICY[k].purposes.join(' ')).join(' | ')} |`);
  out.push('');
  out.push('Who is within reach:', '');
  for (const k of KINDS) {
    const p = ACCESS_POLICY[k];
    const reachesPersons = p.classes.registry.read !== 'none' || p.classes.personal.read !== 'none' || p.identify !== 'none';
    const rel =
      p.relationship === undefined
        ? 'everyone, always audited with the purpose recorded'
        : reachesPersons
          ? RELATIONSHIP[p.relationship]
          : p.pseudonymized
            ? `no identified data at all; ${RELATIONSHIP[p.relationship]}, pseudonymized — ${p.pseudonymized.join(', ')} by its own domain's pseudonyms (read, search, Bulk \`$export\` after the small-cell guard): pseudonym as id and only identifier, sex, birth year-month (or year, per domain), 3 postal digits, insurer kind`
            : 'nobody: no identified data at all';
    const match = p.match
      ? ` \`$match\`: purposes ${[...p.match.purposes].join(', ')} only, at most ${p.match.maxCount} matches graded ${p.match.minGrade} or better; persons outside reach come back with name, sex, birth date and medical ID only.`
      : '';
    out.push(`- **${k}**: ${rel}.${p.breakTheGlass ? ' May break the glass (purpose BTG, when its registration lists BTG).' : ''}${match}`);
  }
  out.push(
    '',
    `Directory types: ${DIRECTORY_TYPES.join(', ')}. A person's deny Consent naming no organization is an opt-out: only the authority (and break-the-glass) reaches the record; a deny naming an organization shuts that one out; a permit naming one opens the record to it. Rules may be limited by purpose, data class (resource type) and period.`,
  );
  return out.join('\n');
}

function reachText(r: Reach): string {
  return r === 'related' ? 'persons within reach' : r;
}

/** Where the README holds the generated policy. */
export const README_MARKERS = { start: '<!-- access-policy:start (npm run docs:policy) -->', end: '<!-- access-policy:end -->' };

/** The README text with its policy section replaced by the generated one. */
export function withPolicy(readme: string): string {
  const i = readme.indexOf(README_MARKERS.start);
  const j = readme.indexOf(README_MARKERS.end);
  if (i < 0 || j < i) throw new Error('README.md has no access-policy markers');
  return `${readme.slice(0, i + README_MARKERS.start.length)}\n${accessPolicyMarkdown()}\n${readme.slice(j)}`;
}

/** The IG page: the same text under a title, with how to use it. */
export const IG_POLICY_PAGE = (md: string): string =>
  `# Access policy\n\nWho may see and change whom, as medid enforces it (generated from the server's policy table; every query compiles it in, so a row outside reach is never read nor counted).\n\n${md}\n\nPurpose of use comes from the access token: a token request may carry \`purpose_of_use\` (a v3-ActReason code the client's registration lists; the first listed is the default), the token carries it, and a request may only narrow it (\`X-Purpose-Of-Use\` or the \`purpose_of_use\` parameter: TREAT → ETREAT, HPAYMT → ELIGVER…). Every AuditEvent records it.\n`;
