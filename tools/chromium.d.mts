import type { Browser, BrowserType } from 'playwright-core';

export const CHROMIUM: string;
export function launchChromium(chromium: BrowserType): Promise<Browser>;
