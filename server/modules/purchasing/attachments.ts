import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Request } from 'express';
import busboy from 'busboy';
import type { Knex } from 'knex';
import { AppError, NotFoundError, ValidationError } from '../../lib/errors.js';
import type { Translate } from '../../lib/i18n.js';

/** What may be uploaded, told by the file's first bytes, never by its name or the browser's claim. */
const KINDS = [
  { type: 'application/pdf', ext: 'pdf', magic: [0x25, 0x50, 0x44, 0x46, 0x2d] },
  { type: 'image/png', ext: 'png', magic: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { type: 'image/jpeg', ext: 'jpg', magic: [0xff, 0xd8, 0xff] },
];
export const MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024;

export function sniff(buf: Buffer): (typeof KINDS)[number] | undefined {
  return KINDS.find((k) => k.magic.every((b, i) => buf[i] === b));
}

/** A file name fit to show and to put in Content-Disposition: no directories, no control characters. */
export function cleanName(name: string, ext: string): string {
  const base = path.basename(name.replace(/\\/g, '/')).replace(/[\u0000-\u001f\u007f"<>|:*?]/g, '').slice(0, 100).trim();
  return base && base !== '.' && base !== '..' ? base : `attachment.${ext}`;
}

export interface AttachmentRow { id: string; owner_type: string; owner_id: string; filename: string; content_type: string; size_bytes: number; sha256: string; uploaded_by: number | null; created_at: Date }

/**
 * Vouchers and report files. A file is stored under its own random id in the data directory
 * (the uploader's name is kept only as a label), is at most 5 MB, and must be a PDF, PNG or JPEG
 * by its content. It is served back with the type found at upload, as a download, never sniffed.
 */
export function createAttachments(deps: { db: Knex; dir: string }) {
  const root = path.resolve(deps.dir, 'attachments');
  const fileOf = (id: string) => path.join(root, id.slice(0, 2), id);

  /** Reads one `file` field of a multipart request into memory, stopping at the size limit. */
  function readUpload(req: Request, t: Translate): Promise<{ name: string; data: Buffer }> {
    return new Promise((resolve, reject) => {
      let bb: busboy.Busboy;
      try {
        bb = busboy({ headers: req.headers, limits: { files: 1, fileSize: MAX_ATTACHMENT_BYTES, fields: 5, parts: 6 } });
      } catch {
        return reject(new ValidationError({ file: t('validation.file_required') }));
      }
      let got: { name: string; data: Buffer } | undefined;
      let tooBig = false;
      bb.on('file', (field, stream, info) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('limit', () => (tooBig = true));
        stream.on('end', () => {
          if (field === 'file') got = { name: info.filename ?? '', data: Buffer.concat(chunks) };
        });
      });
      bb.on('error', () => reject(new ValidationError({ file: t('validation.file_required') })));
      bb.on('close', () => {
        if (tooBig) return reject(new AppError(413, 'file_too_large', 'errors.file_too_large', { params: { max: '5 MB' } }));
        if (!got || !got.data.length) return reject(new ValidationError({ file: t('validation.file_required') }));
        resolve(got);
      });
      req.pipe(bb);
    });
  }

  return {
    readUpload,

    /** Stores an upload for an owner (e.g. a contract) and returns its row. */
    async store(upload: { name: string; data: Buffer }, owner: { type: string; id: string | number }, userId: number | null, t: Translate): Promise<AttachmentRow> {
      const kind = sniff(upload.data);
      if (!kind) throw new ValidationError({ file: t('validation.file_type') });
      const id = randomUUID();
      const file = fileOf(id);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(`${file}.part`, upload.data, { mode: 0o640 });
      await rename(`${file}.part`, file);
      const [row] = await deps.db('attachments').insert({
        id, owner_type: owner.type, owner_id: String(owner.id), filename: cleanName(upload.name, kind.ext), content_type: kind.type,
        size_bytes: upload.data.length, sha256: createHash('sha256').update(upload.data).digest('hex'), uploaded_by: userId,
      }).returning('*');
      return row;
    },

    async find(id: string): Promise<AttachmentRow> {
      const row = /^[0-9a-f-]{36}$/.test(id) ? await deps.db('attachments').where({ id }).first() : undefined;
      if (!row) throw new NotFoundError('attachment');
      return row;
    },

    read: (row: AttachmentRow) => readFile(fileOf(row.id)),

    /** An owner's files, oldest first. */
    ofOwner: (owner: { type: string; id: string | number }) => deps.db('attachments').where({ owner_type: owner.type, owner_id: String(owner.id) }).orderBy('created_at').select('id', 'filename', 'content_type'),
  };
}

export type Attachments = ReturnType<typeof createAttachments>;
