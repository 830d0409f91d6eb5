// Reads an ONNX file's metadata_props (Ultralytics exports record imgsz, stride and class
// names there) without loading the weights: only the top-level protobuf fields are walked,
// and the graph, which holds the weights, is skipped by its length.
import { open } from "node:fs/promises";

/** ModelProto field numbers, from onnx/onnx.proto. */
const MODEL_METADATA_PROPS_FIELD = 14;
const ENTRY_KEY_FIELD = 1;
const ENTRY_VALUE_FIELD = 2;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

class FileCursor {
  position = 0;
  private readonly read: (at: number, length: number) => Promise<Buffer>;
  readonly size: number;

  constructor(read: (at: number, length: number) => Promise<Buffer>, size: number) {
    this.read = read;
    this.size = size;
  }

  async varint(): Promise<number> {
    const bytes = await this.read(this.position, Math.min(10, this.size - this.position));
    let value = 0;
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i]!;
      value += (byte & 0x7f) * 2 ** (7 * i);
      if (byte < 0x80) {
        this.position += i + 1;
        return value;
      }
    }
    throw new Error("malformed ONNX file (bad varint)");
  }

  bytes(length: number): Promise<Buffer> {
    const at = this.position;
    this.position += length;
    return this.read(at, length);
  }
}

function parseEntry(message: Buffer): [string, string] {
  let key = "";
  let value = "";
  let at = 0;
  const varint = () => {
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = message[at++];
      if (byte === undefined) throw new Error("malformed ONNX metadata entry");
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result;
    }
  };
  while (at < message.length) {
    const tag = varint();
    if ((tag & 7) !== WIRE_LENGTH_DELIMITED) throw new Error("malformed ONNX metadata entry");
    const length = varint();
    const text = message.subarray(at, at + length).toString("utf8");
    at += length;
    if (tag >>> 3 === ENTRY_KEY_FIELD) key = text;
    if (tag >>> 3 === ENTRY_VALUE_FIELD) value = text;
  }
  return [key, value];
}

export async function readOnnxMetadataProps(path: string): Promise<Record<string, string>> {
  const file = await open(path, "r");
  try {
    const { size } = await file.stat();
    const cursor = new FileCursor(async (at, length) => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await file.read(buffer, 0, length, at);
      if (bytesRead !== length) throw new Error("ONNX file ends early");
      return buffer;
    }, size);
    const props: Record<string, string> = {};
    while (cursor.position < size) {
      const tag = await cursor.varint();
      switch (tag & 7) {
        case WIRE_VARINT:
          await cursor.varint();
          break;
        case WIRE_FIXED64:
          cursor.position += 8;
          break;
        case WIRE_FIXED32:
          cursor.position += 4;
          break;
        case WIRE_LENGTH_DELIMITED: {
          const length = await cursor.varint();
          if (tag >>> 3 === MODEL_METADATA_PROPS_FIELD) {
            const [key, value] = parseEntry(await cursor.bytes(length));
            props[key] = value;
          } else {
            cursor.position += length;
          }
          break;
        }
        default:
          throw new Error(`not an ONNX model (unexpected protobuf wire type ${tag & 7})`);
      }
    }
    return props;
  } finally {
    await file.close();
  }
}
