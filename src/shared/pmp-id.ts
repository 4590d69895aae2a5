/** PMP IDs (resources, accounts) are decimal numbers; 18 digits keep them inside a Java long, PMP's type for them. */
const PMP_ID = /^\d{1,18}$/;

/** Whether `value` is a PMP ID: 1 to 18 ASCII digits. */
export function isPmpId(value: string): boolean {
  return PMP_ID.test(value);
}
