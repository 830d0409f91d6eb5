// Writes zip files byte by byte (PKWARE APPNOTE 6.3: local file headers, central directory, end
// of central directory record), so tests can make the malformed and malicious zips that a zip
// library refuses to write: lying sizes, ".." names, symlinks, bombs, truncation.

import { crc32, deflateRawSync } from "node:zlib";

const LOCAL_FILE_HEADER_SIGNATURE = 0x04034b50;
const CENTRAL_DIRECTORY_SIGNATURE = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY_SIGNATURE = 0x06054b50;
const VERSION_NEEDED = 20; // 2.0: deflate and folders
const MADE_BY_UNIX = 3 << 8; // high byte 3 = Unix, so external attributes carry a mode
const FLAG_UTF8_NAME = 0x0800;
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;
const UNIX_REGULAR_FILE = 0o100644;
const UNIX_SYMLINK = 0o120777;
// 2024-05-01 12:00:00 in MS-DOS date and time fields.
const DOS_TIME = (12 << 11) | (0 << 5) | 0;
const DOS_DATE = ((2024 - 1980) << 9) | (5 << 5) | 1;

export interface HandZipEntry {
  /** Written as given: nothing is checked or normalised. */
  name: string | Buffer;
  /** The bytes as they sit in the zip: already deflated when method is 8. */
  data: Buffer;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  flags: number;
  /** Unix mode in the high 16 bits, as Info-ZIP writes it. */
  externalAttributes: number;
  /**
   * Write only a central directory record, pointing at the local header of the entry at this
   * index (plus `intoData` bytes): entries that share or overlap their bytes, as zip bombs do.
   */
  pointsAt?: { entry: number; intoData?: number };
}

export function storedEntry(name: string | Buffer, content: Buffer, overrides: Partial<HandZipEntry> = {}): HandZipEntry {
  return {
    name,
    data: content,
    method: METHOD_STORED,
    crc32: crc32(content),
    compressedSize: content.length,
    uncompressedSize: content.length,
    flags: FLAG_UTF8_NAME,
    externalAttributes: UNIX_REGULAR_FILE << 16,
    ...overrides,
  };
}

export function deflatedEntry(name: string | Buffer, content: Buffer, overrides: Partial<HandZipEntry> = {}): HandZipEntry {
  const data = deflateRawSync(content, { level: 9 });
  return storedEntry(name, content, { data, method: METHOD_DEFLATE, compressedSize: data.length, ...overrides });
}

/** A symbolic link entry: its data is the link target, as Info-ZIP stores it. */
export function symlinkEntry(name: string, target: string): HandZipEntry {
  return storedEntry(name, Buffer.from(target), { externalAttributes: UNIX_SYMLINK << 16 });
}

export function directoryEntry(name: string): HandZipEntry {
  return storedEntry(name, Buffer.alloc(0), { externalAttributes: (0o40755 << 16) | 0x10 });
}

export interface ZipBytesOptions {
  /** Entry count written in the end record, to make a zip that promises more than it holds. */
  declaredEntryCount?: number;
}

export function zipBytes(entries: HandZipEntry[], options: ZipBytesOptions = {}): Buffer {
  const localParts: Buffer[] = [];
  const centralParts: Buffer[] = [];
  let offset = 0;
  const localOffsets: number[] = [];
  for (const entry of entries) {
    const name = typeof entry.name === "string" ? Buffer.from(entry.name, "utf8") : entry.name;
    if (entry.pointsAt) {
      const target = localOffsets[entry.pointsAt.entry];
      if (target === undefined) throw new Error(`pointsAt names entry ${entry.pointsAt.entry}, which has no local header before it`);
      localOffsets.push(target + (entry.pointsAt.intoData ?? 0));
      centralParts.push(centralRecord(entry, name, localOffsets.at(-1)!));
      continue;
    }
    localOffsets.push(offset);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOCAL_FILE_HEADER_SIGNATURE, 0);
    local.writeUInt16LE(VERSION_NEEDED, 4);
    local.writeUInt16LE(entry.flags, 6);
    local.writeUInt16LE(entry.method, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(entry.crc32, 14);
    local.writeUInt32LE(entry.compressedSize, 18);
    local.writeUInt32LE(entry.uncompressedSize, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    localParts.push(local, name, entry.data);

    centralParts.push(centralRecord(entry, name, offset));
    offset += local.length + name.length + entry.data.length;
  }
  const centralDirectory = Buffer.concat(centralParts);
  const count = options.declaredEntryCount ?? entries.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(END_OF_CENTRAL_DIRECTORY_SIGNATURE, 0);
  end.writeUInt16LE(0, 4); // this disk
  end.writeUInt16LE(0, 6); // disk with the central directory
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(centralDirectory.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(0, 20); // comment length
  return Buffer.concat([...localParts, centralDirectory, end]);
}

function centralRecord(entry: HandZipEntry, name: Buffer, localHeaderOffset: number): Buffer {
  const central = Buffer.alloc(46);
  central.writeUInt32LE(CENTRAL_DIRECTORY_SIGNATURE, 0);
  central.writeUInt16LE(MADE_BY_UNIX | VERSION_NEEDED, 4);
  central.writeUInt16LE(VERSION_NEEDED, 6);
  central.writeUInt16LE(entry.flags, 8);
  central.writeUInt16LE(entry.method, 10);
  central.writeUInt16LE(DOS_TIME, 12);
  central.writeUInt16LE(DOS_DATE, 14);
  central.writeUInt32LE(entry.crc32, 16);
  central.writeUInt32LE(entry.compressedSize, 20);
  central.writeUInt32LE(entry.uncompressedSize, 24);
  central.writeUInt16LE(name.length, 28);
  central.writeUInt16LE(0, 30); // extra field length
  central.writeUInt16LE(0, 32); // comment length
  central.writeUInt16LE(0, 34); // disk number
  central.writeUInt16LE(0, 36); // internal attributes
  central.writeUInt32LE(entry.externalAttributes >>> 0, 38);
  central.writeUInt32LE(localHeaderOffset, 42);
  return Buffer.concat([central, name]);
}
