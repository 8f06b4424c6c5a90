#!/usr/bin/env node
// Generates samples/mdm-t02.hl7: an MDM^T02 (original document notification
// with content) whose OBX-5 carries a ~1 MiB base64-encoded PDF.
//
// Deterministic: the PDF is a structurally valid multi-page PDF 1.4 whose
// page text comes from a seeded PRNG (mulberry32), so every run produces a
// byte-identical file. The raw PDF is padded to exactly 786,432 bytes, which
// base64-encodes to exactly 1,048,576 characters (1 MiB, no '=' padding).
// No external dependencies; run with `node samples/make-mdm.js`.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const PDF_BYTES = 786432; // 3/4 of 1 MiB -> base64 length 1,048,576
const SEED = 0x4d444d32; // "MDM2"

function mulberry32(a) {
  return function () {
    a |= 0; a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = mulberry32(SEED);
const pick = (arr) => arr[Math.floor(rnd() * arr.length)];
const num = (lo, hi, dp = 0) => (lo + rnd() * (hi - lo)).toFixed(dp);

// ---- page text ----------------------------------------------------------
const HEADINGS = ['HOSPITAL COURSE', 'PROGRESS NOTE', 'VITAL SIGNS', 'LABORATORY', 'MEDICATIONS', 'ASSESSMENT AND PLAN'];
const PHRASES = [
  'Patient resting comfortably, no acute distress.',
  'Afebrile overnight, tolerating regular diet.',
  'Lungs clear to auscultation bilaterally.',
  'Ambulating in hallway with standby assist.',
  'Pain controlled on current oral regimen.',
  'Telemetry reviewed, normal sinus rhythm.',
  'Incision clean, dry and intact.',
  'Continue current management, reassess in AM.',
  'Discussed plan of care with patient and family.',
  'Physical therapy following, progressing well.',
];
const MEDS = ['Lisinopril 10 mg PO daily', 'Metoprolol tartrate 25 mg PO BID', 'Atorvastatin 40 mg PO nightly',
  'Enoxaparin 40 mg SC daily', 'Acetaminophen 650 mg PO q6h PRN', 'Pantoprazole 40 mg PO daily'];

function pageLines(pageNo) {
  const day = 1 + (pageNo % 5);
  const lines = [
    'GOOD HEALTH HOSPITAL - DISCHARGE SUMMARY',
    'Patient: DOE, JOHN M   MRN: PATID1234   DOB: 01/01/1980   Visit: V0052210',
    `Hospital day ${day}                                   Page ${pageNo}`,
    '',
  ];
  while (lines.length < 58) {
    lines.push(pick(HEADINGS) + ':');
    const n = 3 + Math.floor(rnd() * 5);
    for (let i = 0; i < n && lines.length < 58; i++) {
      const k = rnd();
      if (k < 0.25) {
        lines.push(`  T ${num(36.4, 37.9, 1)} C  HR ${num(58, 104)}  BP ${num(104, 152)}/${num(62, 94)}  RR ${num(12, 22)}  SpO2 ${num(92, 100)}%`);
      } else if (k < 0.45) {
        lines.push(`  WBC ${num(4, 14, 1)}  Hgb ${num(10, 16, 1)}  Plt ${num(140, 420)}  Na ${num(133, 146)}  K ${num(3.3, 5.2, 1)}  Cr ${num(0.6, 1.6, 2)}`);
      } else if (k < 0.6) {
        lines.push('  ' + pick(MEDS));
      } else {
        lines.push('  ' + pick(PHRASES));
      }
    }
    lines.push('');
  }
  return lines;
}
const pdfEscape = (s) => s.replace(/[\\()]/g, (c) => '\\' + c);
function contentStream(lines) {
  let s = 'BT\n/F1 9 Tf\n11 TL\n54 760 Td\n';
  for (const l of lines) s += `(${pdfEscape(l)}) '\n`;
  return s + 'ET\n';
}

// ---- PDF assembly --------------------------------------------------------
// Objects: 1 Catalog, 2 Pages, 3 Font, 4 Info, then (page, contents) pairs.
function buildPdf() {
  const header = Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1');
  const objs = []; // [objNum, string]
  const pageStreams = [];
  // Add pages while the estimated file size (stream + page/contents object
  // wrappers + two xref entries) stays under the target; the rest is padding.
  let estimate = header.length + 1024; // catalog, pages tree, font, info, trailer
  for (let p = 1; ; p++) {
    const cs = contentStream(pageLines(p));
    const cost = cs.length + 170 + 40 + 2 * (String(2 * p + 4).length + 8); // objs + xref + /Kids
    if (estimate + cost > PDF_BYTES) break;
    pageStreams.push(cs);
    estimate += cost;
  }
  const nPages = pageStreams.length;
  const pageObj = (i) => 5 + 2 * i;
  objs.push([1, '<< /Type /Catalog /Pages 2 0 R >>']);
  objs.push([2, `<< /Type /Pages /Count ${nPages} /Kids [${pageStreams.map((_, i) => `${pageObj(i)} 0 R`).join(' ')}] >>`]);
  objs.push([3, '<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>']);
  objs.push([4, '<< /Title (Discharge Summary - DOE, JOHN M) /Author (GHH Transcription) /Producer (make-mdm.js) /CreationDate (D:20260510160000-05\'00\') >>']);
  pageStreams.forEach((cs, i) => {
    objs.push([pageObj(i), `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${pageObj(i) + 1} 0 R >>`]);
    objs.push([pageObj(i) + 1, `<< /Length ${Buffer.byteLength(cs, 'latin1')} >>\nstream\n${cs}endstream`]);
  });

  const chunks = [header];
  const offsets = [];
  let pos = header.length;
  for (const [n, body] of objs) {
    const b = Buffer.from(`${n} 0 obj\n${body}\nendobj\n`, 'latin1');
    offsets[n] = pos;
    chunks.push(b);
    pos += b.length;
  }
  const size = objs.length + 1;
  const tail = (xrefPos) => {
    let x = `xref\n0 ${size}\n0000000000 65535 f \n`;
    for (let n = 1; n < size; n++) x += `${String(offsets[n]).padStart(10, '0')} 00000 n \n`;
    x += `trailer\n<< /Size ${size} /Root 1 0 R /Info 4 0 R >>\nstartxref\n${xrefPos}\n%%EOF\n`;
    return x;
  };
  // Pad with PDF comment lines (ignored by readers) so the file is exactly PDF_BYTES.
  const tailLen = Buffer.byteLength(tail(PDF_BYTES)); // startxref digits are stable in this range
  const padLen = PDF_BYTES - pos - tailLen;
  if (padLen < 0) throw new Error('PDF body too large for target size');
  let pad = '';
  const filler = '% padding ' + '-'.repeat(69) + '\n'; // 80-byte comment line
  while (padLen - pad.length >= filler.length + 2) pad += filler;
  const rest = padLen - pad.length; // 0..81
  if (rest >= 2) pad += '%' + ' '.repeat(rest - 2) + '\n';
  else if (rest === 1) pad += '\n';
  const xrefPos = pos + pad.length;
  const pdf = Buffer.concat([...chunks, Buffer.from(pad, 'latin1'), Buffer.from(tail(xrefPos), 'latin1')]);
  if (pdf.length !== PDF_BYTES) throw new Error(`PDF is ${pdf.length} bytes, expected ${PDF_BYTES}`);
  return { pdf, nPages };
}

// ---- HL7 message ---------------------------------------------------------
const { pdf, nPages } = buildPdf();
const b64 = pdf.toString('base64'); // single line, no breaks

const attending = '1234567890^PATEL^ANITA^R^^DR^^^NPI';
const segments = [
  'MSH|^~\\&|DICTATION|GHH|EPIC|GHH|20260510160500-0500||MDM^T02^MDM_T02|MSG00005|P|2.5|||AL|NE',
  'EVN|T02|20260510160500-0500',
  'PID|1||PATID1234^^^GHH^MR||DOE^JOHN^M^^^^L||19800101|M|||100 MAIN ST^^ANYTOWN^OH^44101^USA||^PRN^PH^^^216^5550199|||||ACC88120577^^^GHH^AN',
  `PV1|1|I|4W^412^A^GHH||||${attending}||||||||||||V0052210^^^GHH^VN|||||||||||||||||||||||||20260505142000-0500|20260510120000-0500`,
  // TXA-2 DS = discharge summary, -3 AP = other application data, -12 unique doc id, -17 AU = authenticated, -19 AV = available
  `TXA|1|DS^Discharge Summary^HL70270|AP|20260510155800-0500|${attending}|20260510150000-0500|20260510155800-0500||${attending}||TR0042^JONES^MARY|DOC20260510-0007^DICTATION||||DS_PATID1234_20260510.pdf|AU||AV`,
  `OBX|1|ED|18842-5^Discharge summary^LN||^AP^PDF^Base64^${b64}||||||F|||20260510155800-0500`,
];
const msg = segments.join('\r') + '\r';
if (/[^\x20-\x7e\r]/.test(msg)) throw new Error('message contains non-printable / non-ASCII bytes');

const out = path.join(__dirname, 'mdm-t02.hl7');
fs.writeFileSync(out, msg, 'ascii');
console.log(`wrote ${out}: ${Buffer.byteLength(msg)} bytes (PDF ${pdf.length} bytes, ${nPages} pages, base64 ${b64.length} chars)`);
