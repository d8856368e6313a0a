/**
 * Normalisation of the identifiers the CRM deduplicates on. Hand-written on purpose: the rules
 * are the project's own domain (what counts as "the same" email, domain or phone), and they are
 * small. Each function returns the normalised value or throws a `ValidationError` naming `field`.
 *
 * Phones: a deliberately small E.164 normaliser for the common written forms
 * (`+44 (0)20 7946 0958`, `0044 20 7946 0958`, `(415) 555-2671` with the default NANP country).
 * It does not know per-country numbering plans; if the CRM must validate numbers per country,
 * replace it with libphonenumber-js.
 */
import { domainToASCII } from 'node:url';
import { ValidationError } from '../shared/errors';

const EMAIL_LOCAL = /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+$/;

export function normalizeEmail(raw: string, field = 'email'): string {
  const value = raw.trim().toLowerCase();
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1 || value.length > 254) {
    throw new ValidationError(field, 'must be an email address like name@example.com');
  }
  const local = value.slice(0, at);
  if (
    local.length > 64 ||
    !EMAIL_LOCAL.test(local) ||
    local.startsWith('.') ||
    local.endsWith('.') ||
    local.includes('..')
  ) {
    throw new ValidationError(field, 'must be an email address like name@example.com');
  }
  const domain = asciiHostname(value.slice(at + 1));
  if (!domain) throw new ValidationError(field, 'must be an email address like name@example.com');
  return `${local}@${domain}`;
}

/** `https://www.Example.com/about?x=1` → `example.com`. */
export function normalizeDomain(raw: string, field = 'domain'): string {
  let value = raw.trim().toLowerCase();
  value = value.replace(/^[a-z][a-z0-9+.-]*:\/\//, ''); // scheme
  value = value.replace(/^[^/?#]*@/, ''); // userinfo
  value = value.split(/[/?#]/, 1)[0]; // path, query, fragment
  value = value.replace(/:\d*$/, ''); // port
  value = value.replace(/\.$/, ''); // trailing dot of a FQDN
  value = value.replace(/^www\d*\./, '');
  const host = asciiHostname(value);
  if (!host) throw new ValidationError(field, 'must be a domain name like example.com');
  return host;
}

/** IDNA to ASCII plus hostname syntax checks; undefined when not a public-looking hostname. */
function asciiHostname(value: string): string | undefined {
  if (value.length === 0 || value.length > 253) return undefined;
  const ascii = domainToASCII(value);
  if (!ascii || ascii.length > 253) return undefined;
  const labels = ascii.split('.');
  if (labels.length < 2) return undefined;
  for (const label of labels) {
    if (
      label.length === 0 ||
      label.length > 63 ||
      !/^[a-z0-9-]+$/.test(label) ||
      label.startsWith('-') ||
      label.endsWith('-')
    ) {
      return undefined;
    }
  }
  if (/^\d+$/.test(labels[labels.length - 1])) return undefined; // an IP address, not a domain
  return ascii;
}

/**
 * To E.164 (`+14155552671`). International forms (`+`, `00`) keep their country code; a national
 * number is accepted only for the default country code (NANP `1` unless given): 10 digits, or 11
 * starting with the code.
 */
export function normalizePhone(raw: string, field = 'phone', defaultCountryCode = '1'): string {
  const value = raw.trim();
  if (!/^[+0-9 ().\-/]+$/.test(value)) {
    throw new ValidationError(field, 'must be a phone number with digits, spaces, dashes, dots or parentheses only');
  }
  let international: string | undefined;
  if (value.startsWith('+')) international = value.slice(1);
  else if (value.startsWith('00')) international = value.slice(2);
  let digits: string;
  if (international !== undefined) {
    // "+44 (0)20 ..." — the "(0)" national trunk prefix is dropped in international form.
    digits = international.replace(/\(0\)/g, '').replace(/\D/g, '');
  } else {
    const national = value.replace(/\D/g, '');
    if (national.length === 10 && defaultCountryCode === '1') digits = `1${national}`;
    else if (national.length === 11 && national.startsWith(defaultCountryCode)) digits = national;
    else throw new ValidationError(field, 'must include the country code, e.g. +44 20 7946 0958');
  }
  if (!/^[1-9]\d{7,14}$/.test(digits)) {
    throw new ValidationError(field, 'must be an E.164 phone number: + country code and 8 to 15 digits');
  }
  return `+${digits}`;
}
