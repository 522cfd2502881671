import { getDocs } from './getDocs';
import { getFavicon } from './getFavicon';
import { getHealth } from './getHealth';
import { getMetrics } from './getMetrics';
import { getOpenApiJson } from './getOpenApiJson';
import { getOpenApiYaml } from './getOpenApiYaml';
import { getReadiness } from './getReadiness';

export const systemHandlers = { getHealth, getReadiness, getMetrics, getOpenApiJson, getOpenApiYaml, getDocs, getFavicon };
