import type { Request, Response } from 'express';

/** Sets `X-Total-Count` and an RFC 8288 `Link` header for a paged list. */
export function setPaginationHeaders(req: Request, res: Response, p: { page: number; perPage: number; total: number }): void {
  const last = Math.max(1, Math.ceil(p.total / p.perPage));
  const link = (page: number, rel: string) => {
    const url = new URL(req.originalUrl, 'http://x');
    url.searchParams.set('page', String(page));
    url.searchParams.set('per_page', String(p.perPage));
    return `<${url.pathname}${url.search}>; rel="${rel}"`;
  };
  const links = [link(1, 'first'), link(last, 'last')];
  if (p.page > 1) links.push(link(p.page - 1, 'prev'));
  if (p.page < last) links.push(link(p.page + 1, 'next'));
  res.setHeader('X-Total-Count', String(p.total));
  res.setHeader('Link', links.join(', '));
}

/** Page numbers for an HTML pager. */
export function pager(p: { page: number; perPage: number; total: number }) {
  const pages = Math.max(1, Math.ceil(p.total / p.perPage));
  return { page: p.page, pages, prev: p.page > 1 ? p.page - 1 : null, next: p.page < pages ? p.page + 1 : null };
}

/** Pager locals that keep the current filters in the page links. */
export function pagerLinks(req: Request, page: number, perPage: number, total: number) {
  const p = pager({ page, perPage, total });
  const link = (n: number) => {
    const u = new URL(req.originalUrl, 'http://x');
    u.searchParams.set('page', String(n));
    return `${u.pathname}${u.search}`;
  };
  return { ...p, prevHref: p.prev ? link(p.prev) : null, nextHref: p.next ? link(p.next) : null, total };
}
