// The console's pages. A page is a path, a title, where it sits in the
// navigation, the permissions it needs (the page is hidden from users
// without them, and the API refuses them anyway), and a module loaded on
// first visit so the first page stays small. Add a page here.
import type { ComponentType } from "preact";
import type { Permission } from "./lib/session";

export interface PageProps {
  params: Record<string, string>;
}

export interface PageDef {
  path: string; // "/entity/:kind/:id"
  title: string;
  section?: "Investigate" | "Dashboards" | "Detect" | "Privacy" | "Admin";
  // nav is false for pages reached only by links (entity pages, details).
  nav?: boolean;
  perm?: Permission | Permission[];
  load: () => Promise<{ default: ComponentType<PageProps> }>;
}

export const pages: PageDef[] = [
  { path: "/search", title: "Search", section: "Investigate", perm: "events:search", load: () => import("./pages/search") },
  { path: "/alerts", title: "Alerts", section: "Investigate", perm: "alerts:read", load: () => import("./pages/alerts") },
  { path: "/alerts/:id", title: "Alert", nav: false, perm: "alerts:read", load: () => import("./pages/alert") },
  { path: "/cases", title: "Cases", section: "Investigate", perm: "cases:read", load: () => import("./pages/cases") },
  { path: "/cases/:id", title: "Case", nav: false, perm: "cases:read", load: () => import("./pages/case") },
  { path: "/entity/:kind/:id", title: "Entity", nav: false, perm: "events:search", load: () => import("./pages/entity") },
  { path: "/dashboards", title: "Dashboards", section: "Dashboards", perm: "events:search", load: () => import("./pages/dashboards") },
  { path: "/dashboards/new", title: "New dashboard", nav: false, perm: "events:search", load: () => import("./pages/dashboard-edit") },
  { path: "/dashboards/:id/edit", title: "Edit dashboard", nav: false, perm: "events:search", load: () => import("./pages/dashboard-edit") },
  { path: "/dashboards/:id", title: "Dashboard", nav: false, perm: "events:search", load: () => import("./pages/dashboard") },
  { path: "/privacy", title: "Privacy overview", section: "Privacy", perm: "privacy:read", load: () => import("./pages/privacy") },
  { path: "/privacy/templates", title: "Explanation templates", section: "Privacy", perm: "privacy:read", load: () => import("./pages/privacy-templates") },
  { path: "/privacy/reports", title: "Access reports", section: "Privacy", perm: "privacy:read", load: () => import("./pages/privacy-reports") },
  { path: "/rules", title: "Rules", section: "Detect", perm: "rules:read", load: () => import("./pages/rules") },
  { path: "/sources", title: "Sources", section: "Detect", perm: "sources:read", load: () => import("./pages/sources") },
  { path: "/exceptions", title: "Exceptions", section: "Detect", perm: "alerts:read", load: () => import("./pages/exceptions") },
  { path: "/review", title: "Rule review", section: "Detect", perm: "alerts:read", load: () => import("./pages/review") },
  { path: "/notifications", title: "Notifications", section: "Detect", perm: "alerts:read", load: () => import("./pages/notifications") },
  { path: "/compliance", title: "Compliance evidence", section: "Admin", perm: "reports:read", load: () => import("./pages/compliance") },
  { path: "/admin/users", title: "Users", section: "Admin", perm: "users:admin", load: () => import("./pages/admin-users") },
  { path: "/admin/roles", title: "Roles", section: "Admin", perm: "users:admin", load: () => import("./pages/admin-roles") },
  { path: "/admin/tokens", title: "API tokens", section: "Admin", perm: "users:admin", load: () => import("./pages/admin-tokens") },
  { path: "/admin/sso", title: "Single sign-on", section: "Admin", perm: "config:read", load: () => import("./pages/admin-config") },
  { path: "/admin/audit", title: "Audit trail", section: "Admin", perm: "audit:read", load: () => import("./pages/admin-audit") },
  { path: "/admin/config", title: "Configuration", section: "Admin", perm: "config:read", load: () => import("./pages/admin-config") },
  { path: "/admin/system", title: "System status", section: "Admin", perm: "system:read", load: () => import("./pages/admin-system") },
];

export const HOME = "/search";
