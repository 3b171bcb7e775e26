// What the caller may do in a project, from the project's `role` and `access` fields (the
// server computes them). Controls a caller lacks access for are not shown; the server refuses
// those calls anyway.
import type { Schemas } from "../api/client";

export type Project = Schemas["ProjectOut"];

export const isOwner = (p: Project): boolean => p.role === "owner" || p.role === "admin";
export const canRunJobs = (p: Project): boolean => p.access.jobs === "all";
export const canManageMembers = (p: Project): boolean => isOwner(p) || p.access.manage;
export const canWriteFiles = (p: Project): boolean => p.access.files === "all";
export const canWriteModels = (p: Project): boolean => p.access.models === "all";
