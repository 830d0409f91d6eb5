// Checks a Camtrap DP package the way a publisher (GBIF's IPT, camtraptor, frictionless) would:
// datapackage.json against the Camtrap DP profile (JSON Schema, with the Frictionless schemas
// it refers to resolved to the copies in schemas/), then every CSV against its table schema:
// header, types, required, unique, enum, minimum/maximum, pattern, datetime format, and the
// foreign keys between the tables. Returns the problems found; none means valid.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Ajv, type AnySchema } from "ajv";
import addFormats from "ajv-formats";
import { CAMTRAP_DP_VERSION, TABLES, type TableName } from "../../../gpu-worker/pipeline/outputs/camtrapDp/writePackage.ts";

const SCHEMA_DIR = join(import.meta.dirname, "schemas");

/** The URLs the profile refers to, and the local copy of each. */
const REFERENCED_SCHEMAS: Readonly<Record<string, string>> = {
  "https://specs.frictionlessdata.io/schemas/data-package.json": "data-package.json",
  "http://json.schemastore.org/geojson.json": "geojson.json",
};

interface TableField {
  name: string;
  type: string;
  format?: string;
  constraints?: { required?: boolean; unique?: boolean; enum?: string[]; minimum?: number; maximum?: number; pattern?: string };
}
interface TableSchema {
  fields: TableField[];
  missingValues?: string[];
  primaryKey?: string;
  foreignKeys?: Array<{ fields: string; reference: { resource: string; fields: string } }>;
}

async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, "utf8"));
}

/** Draft-04 schemas read as the draft-07 Ajv speaks: they use nothing whose meaning changed. */
async function localSchema(file: string): Promise<AnySchema> {
  const schema = (await readJson(join(SCHEMA_DIR, file))) as Record<string, unknown>;
  delete schema.$schema;
  return schema;
}

export async function validateCamtrapPackage(dir: string): Promise<string[]> {
  const problems: string[] = [];
  let descriptor: { resources?: Array<{ name?: string; path?: string; schema?: string }> };
  try {
    descriptor = (await readJson(join(dir, "datapackage.json"))) as typeof descriptor;
  } catch (error) {
    return [`datapackage.json cannot be read: ${(error as Error).message}`];
  }

  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addFormat("textarea", true); // a Frictionless UI hint, not a constraint
  for (const [url, file] of Object.entries(REFERENCED_SCHEMAS)) ajv.addSchema(await localSchema(file), url);
  const profile = ajv.compile(await localSchema("camtrap-dp-profile.json"));
  if (!profile(descriptor)) {
    for (const error of profile.errors ?? []) problems.push(`datapackage.json${error.instancePath || ""}: ${error.message ?? "invalid"}`);
  }

  const tables = new Map<TableName, Array<Record<string, string>>>();
  for (const name of TABLES) {
    const resource = descriptor.resources?.find((r) => r.name === name);
    if (!resource?.path) {
      problems.push(`datapackage.json lists no ${name} resource with a path`);
      continue;
    }
    if (resource.schema !== `https://raw.githubusercontent.com/tdwg/camtrap-dp/${CAMTRAP_DP_VERSION}/${name}-table-schema.json`) {
      problems.push(`${name}: schema ${String(resource.schema)} is not Camtrap DP ${CAMTRAP_DP_VERSION}'s`);
    }
    const schema = (await readJson(join(SCHEMA_DIR, `${name}-table-schema.json`))) as TableSchema;
    let text: string;
    try {
      text = await readFile(join(dir, resource.path), "utf8");
    } catch {
      problems.push(`${resource.path} is missing`);
      continue;
    }
    tables.set(name, checkTable(resource.path, parseCsv(text), schema, problems));
  }
  checkForeignKeys(tables, problems);
  return problems;
}

function checkTable(file: string, records: string[][], schema: TableSchema, problems: string[]): Array<Record<string, string>> {
  const [header = [], ...rows] = records;
  const names = schema.fields.map((f) => f.name);
  if (header.join(",") !== names.join(",")) problems.push(`${file}: header is ${header.join(",")}, the table schema lists ${names.join(",")}`);
  const missing = new Set(schema.missingValues ?? [""]);
  const seen = new Map<string, Set<string>>();
  const objects: Array<Record<string, string>> = [];
  rows.forEach((row, i) => {
    const line = i + 2;
    if (row.length !== header.length) problems.push(`${file} line ${line}: ${row.length} values for ${header.length} columns`);
    const record: Record<string, string> = {};
    schema.fields.forEach((field) => {
      const column = header.indexOf(field.name);
      const value = column >= 0 ? (row[column] ?? "") : "";
      record[field.name] = value;
      const where = `${file} line ${line}, ${field.name}`;
      if (missing.has(value)) {
        if (field.constraints?.required) problems.push(`${where}: required but empty`);
        return;
      }
      const problem = fieldProblem(field, value);
      if (problem) problems.push(`${where}: ${problem}`);
      if (field.constraints?.unique || schema.primaryKey === field.name) {
        const values = seen.get(field.name) ?? new Set();
        seen.set(field.name, values);
        if (values.has(value)) problems.push(`${where}: "${value}" appears twice but must be unique`);
        values.add(value);
      }
    });
    objects.push(record);
  });
  return objects;
}

/** Table Schema's datetime with format %Y-%m-%dT%H:%M:%S%z: a real date and a zone. */
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(Z|[+-]\d{2}:?\d{2})$/;

function fieldProblem(field: TableField, value: string): string | undefined {
  const c = field.constraints ?? {};
  let number: number | undefined;
  switch (field.type) {
    case "number":
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value)) return `"${value}" is not a number`;
      number = Number(value);
      break;
    case "integer":
      if (!/^[+-]?\d+$/.test(value)) return `"${value}" is not an integer`;
      number = Number(value);
      break;
    case "boolean":
      if (!["true", "false", "True", "False", "TRUE", "FALSE", "1", "0"].includes(value)) return `"${value}" is not a boolean`;
      break;
    case "datetime": {
      const parts = DATETIME.exec(value);
      if (!parts) return `"${value}" is not a datetime with a zone (YYYY-MM-DDThh:mm:ss+hh:mm)`;
      const [year, month, day, hour, minute, second] = parts.slice(1, 7).map(Number);
      const date = new Date(Date.UTC(year ?? 0, (month ?? 0) - 1, day ?? 0));
      const realDate = date.getUTCMonth() === (month ?? 0) - 1 && date.getUTCDate() === day;
      if (!realDate || (hour ?? 0) > 23 || (minute ?? 0) > 59 || (second ?? 0) > 59) return `"${value}" is not a real date and time`;
      break;
    }
  }
  if (c.enum && !c.enum.includes(value)) return `"${value}" is not one of ${c.enum.join(", ")}`;
  if (number !== undefined && c.minimum !== undefined && number < c.minimum) return `${value} is below the minimum ${c.minimum}`;
  if (number !== undefined && c.maximum !== undefined && number > c.maximum) return `${value} is above the maximum ${c.maximum}`;
  if (c.pattern !== undefined && !new RegExp(`^(?:${c.pattern})$`).test(value)) return `"${value}" does not match the pattern ${c.pattern}`;
  return undefined;
}

function checkForeignKeys(tables: Map<TableName, Array<Record<string, string>>>, problems: string[]): void {
  const keys = (table: TableName, field: string) => new Set((tables.get(table) ?? []).map((row) => row[field]));
  const references: Array<[TableName, string, TableName, string]> = [
    ["media", "deploymentID", "deployments", "deploymentID"],
    ["observations", "deploymentID", "deployments", "deploymentID"],
    ["observations", "mediaID", "media", "mediaID"],
  ];
  for (const [table, field, target, targetField] of references) {
    const known = keys(target, targetField);
    (tables.get(table) ?? []).forEach((row, i) => {
      const value = row[field] ?? "";
      if (value !== "" && !known.has(value)) problems.push(`${table}.csv line ${i + 2}, ${field}: "${value}" is not a ${targetField} in ${target}.csv`);
    });
  }
}

/** RFC 4180 CSV: quoted fields may hold commas, quotes (doubled) and line breaks. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ",") {
      row.push(field);
      field = "";
    } else if (char === "\n" || char === "\r") {
      if (char === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += char;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
