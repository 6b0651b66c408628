/**
 * The `jupyter_codesearch` comm target: lets the kernel insert and edit cells
 * of the notebook it is attached to.
 *
 * Protocol (see ../README.md): the kernel opens a comm to the target
 * `jupyter_codesearch`; the data of the comm_open and of every later comm_msg
 * is one request `{action, request_id, ...}`; each request gets exactly one
 * reply `{request_id, ok, ...}` sent on the same comm.
 */

import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IConsoleTracker } from '@jupyterlab/console';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import type { Kernel, KernelMessage } from '@jupyterlab/services';

// `tsc` keeps this call in lib/handler.js, where '../package.json' is this
// package's manifest; the bundler (jupyter-builder build) inlines it.
declare const require: (id: string) => unknown;

/** The extension (npm package) version, reported by `ping`. */
export const VERSION: string = (require('../package.json') as { version: string })
  .version;

/** The comm target name the kernel opens comms to. */
export const COMM_TARGET = 'jupyter_codesearch';

/** Prefix of everything this extension logs. */
const LOG_PREFIX = '[codesearch]';

type JSONish = Record<string, unknown>;

type SessionContext = NotebookPanel['sessionContext'];

/** A request that could not be carried out; its message goes to the kernel. */
class RequestError extends Error {}

interface ICellLocation {
  panel: NotebookPanel;
  index: number;
}

/**
 * Registers the comm target on the kernel of every notebook and serves the
 * requests arriving on it.
 */
export class CodesearchBridge {
  constructor(tracker: INotebookTracker) {
    this._tracker = tracker;
    tracker.widgetAdded.connect((_, panel) => this.watch(panel.sessionContext));
    tracker.forEach(panel => this.watch(panel.sessionContext));
  }

  /**
   * Register the comm target on the session's kernel now, once the session
   * is ready, and again whenever its kernel changes or restarts.
   *
   * Within one page JupyterLab lets only the *first* connection to a kernel
   * handle comms (`handleComms`; registering on the others is a no-op). That
   * first connection may belong to a console the notebook later attached to,
   * so consoles are watched too; requests are resolved by kernel id.
   */
  watch(ctx: SessionContext): void {
    if (this._watched.has(ctx)) {
      return;
    }
    this._watched.add(ctx);
    const register = (): void => {
      const kernel = ctx.session?.kernel;
      if (kernel && !kernel.isDisposed) {
        this.register(kernel);
      }
    };
    ctx.kernelChanged.connect(register);
    ctx.sessionChanged.connect(register);
    ctx.statusChanged.connect((_, status) => {
      if (status === 'restarting' || status === 'autorestarting') {
        register();
      }
    });
    ctx.ready.then(register).catch(reason => {
      console.warn(`${LOG_PREFIX} session did not become ready:`, reason);
    });
    register();
  }

  /** Register (idempotently) the comm target on one kernel connection. */
  register(kernel: Kernel.IKernelConnection): void {
    let callback = this._callbacks.get(kernel);
    if (!callback) {
      callback = (comm, msg) => this._onCommOpen(kernel, comm, msg);
      this._callbacks.set(kernel, callback);
    }
    // The registry entry survives restarts of the same connection and
    // re-registering the same callback is a no-op, so this is cheap.
    kernel.registerCommTarget(COMM_TARGET, callback);
  }

  private _onCommOpen(
    kernel: Kernel.IKernelConnection,
    comm: Kernel.IComm,
    msg: KernelMessage.ICommOpenMsg
  ): void {
    comm.onMsg = (m: KernelMessage.ICommMsgMsg) => {
      this._handle(kernel, comm, m.content.data);
    };
    const data = msg.content.data;
    // An empty open is allowed: the kernel may send its requests later.
    if (data && Object.keys(data).length > 0) {
      this._handle(kernel, comm, data);
    }
  }

  private _handle(
    kernel: Kernel.IKernelConnection,
    comm: Kernel.IComm,
    raw: unknown
  ): void {
    const data: JSONish = isObject(raw) ? raw : {};
    const requestId = typeof data.request_id === 'string' ? data.request_id : null;
    let reply: JSONish;
    try {
      reply = { request_id: requestId, ok: true, ...this._dispatch(kernel, data) };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      console.warn(`${LOG_PREFIX} request ${JSON.stringify(requestId)} failed: ${message}`);
      reply = { request_id: requestId, ok: false, error: message };
    }
    try {
      comm.send(reply as KernelMessage.ICommMsgMsg['content']['data']);
    } catch (err) {
      console.warn(`${LOG_PREFIX} could not send the reply:`, err);
    }
  }

  /** Carry out one request; returns the reply fields besides request_id/ok. */
  private _dispatch(kernel: Kernel.IKernelConnection, data: JSONish): JSONish {
    const action = data.action;
    if (typeof data.request_id !== 'string') {
      throw new RequestError('request_id must be a string');
    }
    switch (action) {
      case 'ping':
        return { version: VERSION };
      case 'insert_below': {
        const code = stringField(data, 'code');
        const { panel, index } = this._findCell(kernel, stringField(data, 'cell_id'));
        return { cell_id: insertBelow(panel, index, code) };
      }
      case 'append_to_cell': {
        const text = stringField(data, 'text');
        const { panel, index } = this._findCell(kernel, stringField(data, 'cell_id'));
        appendToCell(panel, index, text);
        return {};
      }
      case 'replace_cell': {
        const source = stringField(data, 'source');
        const { panel, index } = this._findCell(kernel, stringField(data, 'cell_id'));
        cellAt(panel, index).sharedModel.setSource(source);
        return {};
      }
      default:
        throw new RequestError(`unknown action ${JSON.stringify(action)}`);
    }
  }

  /**
   * Notebooks attached to this kernel (whichever connection they use), those
   * using this very connection first.
   */
  private _panelsFor(kernel: Kernel.IKernelConnection): NotebookPanel[] {
    const panels = this._tracker.filter(p => {
      const other = p.sessionContext.session?.kernel;
      return !p.isDisposed && !!other && other.id === kernel.id;
    });
    const own = (p: NotebookPanel) => (p.sessionContext.session?.kernel === kernel ? 0 : 1);
    return panels.sort((a, b) => own(a) - own(b));
  }

  private _findCell(kernel: Kernel.IKernelConnection, cellId: string): ICellLocation {
    const panels = this._panelsFor(kernel);
    if (panels.length === 0) {
      throw new RequestError('no notebook is attached to this kernel');
    }
    for (const panel of panels) {
      const index = indexOfCell(panel, cellId);
      if (index >= 0) {
        return { panel, index };
      }
    }
    const paths = panels.map(p => p.context.path).join(', ');
    throw new RequestError(`no cell with id ${JSON.stringify(cellId)} in ${paths}`);
  }

  private readonly _tracker: INotebookTracker;
  private readonly _watched = new WeakSet<SessionContext>();
  private readonly _callbacks = new WeakMap<
    Kernel.IKernelConnection,
    (comm: Kernel.IComm, msg: KernelMessage.ICommOpenMsg) => void
  >();
}

function isObject(value: unknown): value is JSONish {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(data: JSONish, name: string): string {
  const value = data[name];
  if (typeof value !== 'string') {
    throw new RequestError(`${String(data.action)}: "${name}" must be a string`);
  }
  return value;
}

function indexOfCell(panel: NotebookPanel, cellId: string): number {
  const cells = panel.content.model?.cells;
  if (!cells) {
    return -1;
  }
  for (let i = 0; i < cells.length; i++) {
    if (cells.get(i).id === cellId) {
      return i;
    }
  }
  return -1;
}

function cellAt(panel: NotebookPanel, index: number) {
  const model = panel.content.model;
  if (!model) {
    throw new RequestError('the notebook has no model');
  }
  return model.cells.get(index);
}

/** Insert a code cell below `index`, make it active; returns its id. */
function insertBelow(panel: NotebookPanel, index: number, code: string): string {
  const model = panel.content.model;
  if (!model) {
    throw new RequestError('the notebook has no model');
  }
  const shared = model.sharedModel.insertCell(index + 1, {
    cell_type: 'code',
    source: code,
    metadata: {}
  });
  const notebook = panel.content;
  notebook.deselectAll();
  notebook.activeCellIndex = index + 1;
  notebook.scrollToItem(index + 1, 'smart').catch(() => {
    /* scrolling is best effort */
  });
  return shared.getId();
}

/** Append `text` after the cell's source with exactly one newline between. */
function appendToCell(panel: NotebookPanel, index: number, text: string): void {
  const shared = cellAt(panel, index).sharedModel;
  const old = shared.getSource();
  const kept = old.replace(/(\r?\n)+$/, '');
  const addition = text.replace(/^(\r?\n)+/, '');
  shared.updateSource(kept.length, old.length, kept.length > 0 ? '\n' + addition : addition);
}

/** The plugin: activated on startup, needs the notebook tracker. */
export const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-codesearch:plugin',
  description:
    'Lets the jupyter-codesearch kernel code insert and edit notebook cells (comm target jupyter_codesearch).',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [IConsoleTracker],
  activate: (
    _app: JupyterFrontEnd,
    tracker: INotebookTracker,
    consoles: IConsoleTracker | null
  ): void => {
    const bridge = new CodesearchBridge(tracker);
    if (consoles) {
      // A console's connection may be the one handling a notebook's comms
      // (see CodesearchBridge.watch).
      consoles.widgetAdded.connect((_, panel) => bridge.watch(panel.sessionContext));
      consoles.forEach(panel => bridge.watch(panel.sessionContext));
    }
    console.debug(`${LOG_PREFIX} jupyter-codesearch ${VERSION} activated`);
  }
};
