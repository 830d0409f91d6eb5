// Text from the user's files (file and folder names, EXIF make, model and serial, maker-note
// labels) lands in spreadsheet cells. A spreadsheet runs a cell that starts with one of these
// characters as a formula when it opens a CSV: "=HYPERLINK(...)" as a camera model, "+cmd.jpg"
// as a path, a DDE "=cmd|..." (OWASP, "CSV Injection").
//
// The one rule, for every table Trapline writes:
// - results.xlsx: text goes into typed string cells, which Excel, LibreOffice and Sheets never
//   evaluate, so it keeps its exact value (outputs/workbook.ts; its test holds this);
// - CSV (Camtrap DP): a CSV has no cell types, so text that starts like a formula is written
//   behind an apostrophe, which every spreadsheet shows as text (outputs/camtrapDp/writePackage.ts).

const FORMULA_START = /^[=+\-@\t\r]/;

/** True when a spreadsheet would read `text` as a formula. */
export function startsLikeFormula(text: string): boolean {
  return FORMULA_START.test(text);
}

/** `text` as a CSV cell a spreadsheet shows as text: formula-like text gets a leading apostrophe. */
export function inertCsvText(text: string): string {
  return startsLikeFormula(text) ? `'${text}` : text;
}
