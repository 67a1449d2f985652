/**
 * What loading configuration files yields: resources that remember where they were written, and
 * findings (validation issues and YAML syntax errors) that name file, line, column and resource.
 */
import type { Issue, Resource } from '../api/types.js';

/** A place in an input file; `line` and `col` are 1-based, absent when unknown (an unreadable file). */
export interface SourcePos {
  file: string;
  line?: number;
  col?: number;
}

/** Where a resource came from. */
export interface ResourceSource extends SourcePos {
  line: number;
  col: number;
  /** 0-based index of the YAML document in its file. */
  docIndex: number;
  /** Index in `items` when the resource came from a `kind: List` document. */
  itemIndex?: number;
}

/** A validated resource (defaults applied, namespace defaulted) and its origin. */
export interface LoadedResource {
  resource: Resource;
  source: ResourceSource;
  /** False when `metadata.namespace` was filled in from the default namespace. */
  namespaceExplicit: boolean;
  /** The file position of a field path of this resource (`['spec','http',0]`), or of its nearest ancestor. */
  locate(path: ReadonlyArray<string | number>): SourcePos;
}

/** One problem with the input, positioned in its file. */
export interface Finding extends Issue, SourcePos {
  /** `kind/namespace/name` of the resource concerned, when the document named one. */
  resource?: string;
  /** The source line at `line`, for a caret excerpt. */
  sourceLine?: string;
  /** What produced the finding: YAML syntax, reading the input, or resource validation. */
  origin: 'read' | 'syntax' | 'validation';
  /** True when the finding means the document was skipped as not supported (no resource, only a warning). */
  unsupported?: boolean;
}

/** Everything loaded from a set of inputs. */
export interface LoadResult {
  resources: LoadedResource[];
  findings: Finding[];
  /** Resource documents seen (after `List` expansion, empty documents excluded), valid or not. */
  documents: DocumentSummary[];
  /** Input names in the order read (`-` for stdin). */
  files: string[];
}

/** The outcome for one resource document. */
export interface DocumentSummary {
  file: string;
  line: number;
  resource?: string;
  status: 'valid' | 'invalid' | 'unsupported';
}
