/**
 * Minimal ELF64 little-endian reader for the packaging tests: the dynamic section's NEEDED, SONAME,
 * RPATH/RUNPATH entries, the symbol versions the binary needs (.gnu.version_r, e.g. GLIBC_2.35) and
 * the section names. Enough to check a prebuilt .node without readelf.
 */
import { readFileSync } from 'node:fs';

export interface ElfInfo {
  /** DT_NEEDED entries, in order. */
  needed: string[];
  rpath: string[];
  /** Required symbol versions per library, e.g. { 'libc.so.6': ['GLIBC_2.2.5', ..., 'GLIBC_2.35'] }. */
  versionNeeds: Record<string, string[]>;
  sections: string[];
  /** Symbols the object defines and exports (.dynsym: defined, global/weak/unique, default visibility). */
  exported: string[];
  /** File offset and size of each named section. */
  sectionRanges: Record<string, { offset: number; size: number }>;
}

const SHT_DYNAMIC = 6;
const SHT_DYNSYM = 11;
const SHT_GNU_VERNEED = 0x6ffffffe;
const DT_NULL = 0n;
const DT_NEEDED = 1n;
const DT_RPATH = 15n;
const DT_RUNPATH = 29n;

function cString(buf: Buffer, offset: number): string {
  const end = buf.indexOf(0, offset);
  return buf.toString('utf8', offset, end < 0 ? buf.length : end);
}

interface Section {
  name: number;
  type: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

export function readElf(path: string): ElfInfo {
  const buf = readFileSync(path);
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${path}: not an ELF file`);
  if (buf[4] !== 2 || buf[5] !== 1) throw new Error(`${path}: not ELF64 little-endian`);
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const shstrndx = buf.readUInt16LE(0x3e);
  const sections: Section[] = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    sections.push({
      name: buf.readUInt32LE(o),
      type: buf.readUInt32LE(o + 4),
      offset: Number(buf.readBigUInt64LE(o + 0x18)),
      size: Number(buf.readBigUInt64LE(o + 0x20)),
      link: buf.readUInt32LE(o + 0x28),
      entsize: Number(buf.readBigUInt64LE(o + 0x38)),
    });
  }
  const shstr = sections[shstrndx];
  if (!shstr) throw new Error(`${path}: no section name table`);
  const names = sections.map((s) => cString(buf, shstr.offset + s.name));

  const sectionRanges: ElfInfo['sectionRanges'] = {};
  sections.forEach((s, i) => {
    sectionRanges[names[i] ?? ''] = { offset: s.offset, size: s.size };
  });
  const info: ElfInfo = { needed: [], rpath: [], versionNeeds: {}, sections: names, exported: [], sectionRanges };
  const dynsym = sections.find((s) => s.type === SHT_DYNSYM);
  const dynsymStr = dynsym ? sections[dynsym.link] : undefined;
  if (dynsym && dynsymStr) {
    for (let o = dynsym.offset + 24; o + 24 <= dynsym.offset + dynsym.size; o += 24) {
      const bind = (buf[o + 4] ?? 0) >> 4; // 1 GLOBAL, 2 WEAK, 10 GNU_UNIQUE
      const visibility = (buf[o + 5] ?? 0) & 3;
      const shndx = buf.readUInt16LE(o + 6);
      if (shndx !== 0 && visibility === 0 && (bind === 1 || bind === 2 || bind === 10)) {
        info.exported.push(cString(buf, dynsymStr.offset + buf.readUInt32LE(o)));
      }
    }
  }
  const dynamic = sections.find((s) => s.type === SHT_DYNAMIC);
  if (!dynamic) return info; // a static executable
  const dynstr = sections[dynamic.link];
  if (!dynstr) throw new Error(`${path}: dynamic section without string table`);
  for (let o = dynamic.offset; o + 16 <= dynamic.offset + dynamic.size; o += 16) {
    const tag = buf.readBigInt64LE(o);
    if (tag === DT_NULL) break;
    const value = Number(buf.readBigUInt64LE(o + 8));
    if (tag === DT_NEEDED) info.needed.push(cString(buf, dynstr.offset + value));
    else if (tag === DT_RPATH || tag === DT_RUNPATH) info.rpath.push(cString(buf, dynstr.offset + value));
  }

  const verneed = sections.find((s) => s.type === SHT_GNU_VERNEED);
  if (verneed) {
    const strtab = sections[verneed.link] ?? dynstr;
    let o = verneed.offset;
    for (;;) {
      const cnt = buf.readUInt16LE(o + 2);
      const file = cString(buf, strtab.offset + buf.readUInt32LE(o + 4));
      const versions: string[] = [];
      let a = o + buf.readUInt32LE(o + 8);
      for (let i = 0; i < cnt; i++) {
        versions.push(cString(buf, strtab.offset + buf.readUInt32LE(a + 8)));
        const next = buf.readUInt32LE(a + 12);
        if (next === 0) break;
        a += next;
      }
      info.versionNeeds[file] = versions;
      const next = buf.readUInt32LE(o + 12);
      if (next === 0) break;
      o += next;
    }
  }
  return info;
}

/** Compares dotted versions numerically ("2.35" > "2.4"). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The highest version with the given prefix across all libraries, e.g. maxVersion(info, 'GLIBC_') -> '2.35'. */
export function maxVersion(info: ElfInfo, prefix: string): string | undefined {
  const all = Object.values(info.versionNeeds)
    .flat()
    .filter((v) => v.startsWith(prefix))
    .map((v) => v.slice(prefix.length));
  return all.sort(compareVersions).at(-1);
}

export interface FatbinEntry {
  kind: 'sass' | 'ptx';
  /** SM version, e.g. 86 for sm_86 / compute_86. */
  arch: number;
}

/**
 * Lists the CUDA code objects in the `.nv_fatbin` section: one SASS (ELF cubin) per real
 * architecture and PTX for the virtual ones. Layout: fatbin header {u32 magic 0xBA55ED50, u16
 * version, u16 headerSize, u64 size}, then entries {u16 kind (1 PTX, 2 ELF), u16 version, u32
 * headerSize, u32 paddedPayloadSize, ..., u32 arch at byte 28}.
 */
export function readCudaFatbin(path: string, info: ElfInfo = readElf(path)): FatbinEntry[] {
  const range = info.sectionRanges['.nv_fatbin'];
  if (!range) return [];
  const buf = readFileSync(path);
  const entries: FatbinEntry[] = [];
  const end = range.offset + range.size;
  let o = range.offset;
  for (;;) {
    while (o + 16 <= end && buf.readUInt32LE(o) !== 0xba55ed50) o += 4; // alignment padding between fatbins
    if (o + 16 > end) break;
    const headerSize = buf.readUInt16LE(o + 6);
    const size = Number(buf.readBigUInt64LE(o + 8));
    for (let e = o + headerSize; e < o + headerSize + size; ) {
      const kind = buf.readUInt16LE(e);
      const entryHeader = buf.readUInt32LE(e + 4);
      const payload = buf.readUInt32LE(e + 8);
      entries.push({ kind: kind === 1 ? 'ptx' : 'sass', arch: buf.readUInt32LE(e + 28) });
      e += entryHeader + payload;
    }
    o += headerSize + size;
  }
  return entries;
}
