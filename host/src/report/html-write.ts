/** Writes the HTML report (html.ts) to a file, atomically, parent folders created; ATP_REPORT_WRITE on failure. */
import type { ReportV1 } from '@atp/protocol';
import { formatHtmlReport, type HtmlReportOptions } from './html.js';
import { writeFileAtomic } from './write-file.js';

export async function writeHtmlReport(report: ReportV1, file: string, options: HtmlReportOptions = {}): Promise<void> {
  await writeFileAtomic(file, formatHtmlReport(report, options));
}
