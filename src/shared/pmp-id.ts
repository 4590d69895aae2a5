/** 1 to 18 ASCII digits: PMP keeps IDs in a Java long, which 18 digits always fit (19 may not). */
const PMP_ID = /^[0-9]{1,18}$/;

/**
 * Whether `value` is a PMP resource or account ID. One that is can be written
 * into a URL path as it is: digits need no percent-encoding.
 */
export function isPmpId(value: string): boolean {
  return PMP_ID.test(value);
}
