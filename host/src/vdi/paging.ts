/**
 * Walks every page of an OCloudView list endpoint. Pure: the caller passes the
 * function that fetches one page; no I/O here, so the rules are tested on
 * made-up servers (vdi-paging.test.ts).
 *
 * Rules:
 * - Pages are numbered from 1; every request asks for `pageSize` items.
 * - The walk ends when the items collected reach the page's `total` (the
 *   latest one: a list may grow or shrink while it is walked), or on an empty
 *   page. Without a `total` it ends on a page shorter than the page size the
 *   server says it used, or at the server's `pages`.
 * - Items with an `id` are collected once: when records are deleted during
 *   the walk, later pages shift and may repeat an item.
 * - A server whose pages never end is caught twice: a page of items that were
 *   all seen before (it ignores pageNum) and more than `maxPages` pages are
 *   ATP_VDI_REPLY errors naming the endpoint, never an endless loop.
 */
import { AtpError } from '@atp/protocol';
import type { PageResult } from './schemas/common.js';

export const DEFAULT_PAGE_SIZE = 100;
/** 100,000 items at the default page size. */
export const DEFAULT_MAX_PAGES = 1000;

export interface PageWalkOptions<T> {
  /** Names the endpoint in errors, e.g. `GET /ocloud/v1/domain`. */
  label: string;
  pageSize?: number;
  maxPages?: number;
  /** The key that identifies an item (default: its `id` when that is a string). */
  keyOf?: (item: T) => string | undefined;
}

export type FetchPage<T> = (pageNum: number, pageSize: number) => Promise<PageResult<T>>;

function defaultKey(item: unknown): string | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const id = (item as { id?: unknown }).id;
  return typeof id === 'string' ? id : undefined;
}

/** Every item of every page, in server order. */
export async function walkPages<T>(fetchPage: FetchPage<T>, options: PageWalkOptions<T>): Promise<T[]> {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  const keyOf = options.keyOf ?? defaultKey;
  const items: T[] = [];
  const seen = new Set<string>();
  for (let pageNum = 1; ; pageNum++) {
    if (pageNum > maxPages) {
      throw new AtpError('ATP_VDI_REPLY', `${options.label}: the list did not end within ${maxPages} pages of ${pageSize} (${items.length} items so far); the server's paging looks broken`, {
        details: { endpoint: options.label, maxPages, pageSize, items: items.length },
      });
    }
    const page = await fetchPage(pageNum, pageSize);
    let added = 0;
    let keyed = 0;
    for (const item of page.list) {
      const key = keyOf(item);
      if (key !== undefined) {
        keyed++;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      items.push(item);
      added++;
    }
    if (page.list.length === 0) return items;
    if (page.total !== undefined) {
      if (items.length >= page.total) return items;
    } else if (page.list.length < (page.pageSize ?? pageSize) || (page.pages !== undefined && pageNum >= page.pages)) {
      return items;
    }
    if (added === 0 && keyed === page.list.length) {
      throw new AtpError('ATP_VDI_REPLY', `${options.label}: page ${pageNum} repeated only items of earlier pages (${items.length} of ${page.total ?? '?'} collected); the server seems to ignore pageNum`, {
        details: { endpoint: options.label, pageNum, items: items.length, total: page.total },
      });
    }
  }
}
