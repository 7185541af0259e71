// The process editor page (/admin/definitions/<key>/edit): bpmn-js Modeler, the properties panel with the
// 「回音」 group, lint on the element, the server's checks, 试运行, drafts and deploy. Bundled by esbuild
// (scripts/lib.sh build_modeler) into one file; the page gives its data in #modeler-config.
import Modeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import spiffworkflow from './spiffworkflow.json';
import { HuiyinPropertiesProviderModule } from './provider';
import { TranslateModule } from './translate';
import { lint } from './lint';
import { emptyForm, renderFormEditor } from './forms';

const $ = selector => document.querySelector(selector);
const config = JSON.parse($('#modeler-config').textContent);
window.HUIYIN_MODELER = config;
const csrf = document.querySelector('meta[name=csrf-token]').content;

async function call(method, path, body) {
  const answer = await fetch(config.base + path, {
    method, credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf, Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  });
  const data = await answer.json().catch(() => ({}));
  if (!answer.ok) {
    const error = new Error(data.message || data.error || `请求失败(${answer.status})`);
    error.fields = data.details || {};
    throw error;
  }
  return data;
}
const post = (path, body) => call('POST', path, body);
window.HuiyinModelerPost = post;

const modeler = new Modeler({
  container: '#canvas',
  propertiesPanel: { parent: '#properties' },
  additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, HuiyinPropertiesProviderModule,
    TranslateModule],
  moddleExtensions: { spiffworkflow }
});
const forms = Object.assign({}, config.form_files);
let serverOk = false;
let dirtySinceCheck = true;
let lintProblems = [];
let serverProblems = { errors: [], warnings: [] };

function status(text, kind) {
  const box = $('#modeler-status');
  box.textContent = text;
  box.className = 'modeler-status ' + (kind || '');
}

// ---- problems: lint and server checks, on the element and in a list --------------------------------------
function elementName(id) {
  const element = modeler.get('elementRegistry').get(id);
  return element ? (element.businessObject.name || id) : id;
}

function drawProblems() {
  const overlays = modeler.get('overlays');
  overlays.remove({ type: 'huiyin-problem' });
  const all = [...lintProblems.map(p => ({ ...p, source: '检查规则' })),
    ...serverProblems.errors.map(p => ({ ...p, severity: 'error', source: '服务器检查' })),
    ...serverProblems.warnings.map(p => ({ ...p, severity: 'warning', source: '服务器检查' }))];
  const perElement = {};
  all.forEach(p => { if (p.element) (perElement[p.element] = perElement[p.element] || []).push(p); });
  const registry = modeler.get('elementRegistry');
  Object.entries(perElement).forEach(([id, list]) => {
    if (!registry.get(id)) return;
    const error = list.some(p => p.severity === 'error');
    const badge = document.createElement('div');
    badge.className = 'huiyin-badge ' + (error ? 'error' : 'warning');
    badge.textContent = list.length;
    badge.title = list.map(p => p.message).join('\n');
    overlays.add(id, 'huiyin-problem', { position: { top: -12, right: 12 }, html: badge });
  });
  const list = $('#problems');
  list.replaceChildren(...all.map(p => {
    const item = document.createElement('li');
    item.className = p.severity;
    const button = document.createElement('button');
    button.type = 'button';
    const where = p.element ? elementName(p.element) + ' · ' : '';
    const at = p.line ? `(第 ${p.line} 行第 ${p.column || 1} 列)` : '';
    button.textContent = `${p.severity === 'error' ? '错误' : '警告'}:${where}${p.message}${at}`;
    button.dataset.element = p.element || '';
    button.addEventListener('click', () => {
      const element = p.element && registry.get(p.element);
      if (!element) return;
      modeler.get('selection').select(element);
      modeler.get('canvas').scrollToElement(element);
    });
    item.appendChild(button);
    item.appendChild(document.createTextNode(' ' + p.source));
    return item;
  }));
  $('#problem-count').textContent = all.filter(p => p.severity === 'error').length;
  const errors = all.some(p => p.severity === 'error');
  $('#deploy').disabled = errors || !serverOk || dirtySinceCheck;
  $('#warnings-comment-row').hidden = !serverProblems.warnings.length;
}

async function relint() {
  lintProblems = await lint(modeler.getDefinitions());
  drawProblems();
}

let lintTimer = null;
modeler.on('commandStack.changed', () => {
  dirtySinceCheck = true;
  serverOk = false;
  clearTimeout(lintTimer);
  lintTimer = setTimeout(relint, 250);
  scheduleDraft();
});

async function currentXml() {
  return (await modeler.saveXML({ format: true })).xml;
}

async function checkOnServer() {
  status('正在检查…');
  const bpmn = await currentXml();
  try {
    serverProblems = await post('/check', { bpmn, forms });
    serverOk = serverProblems.ok;
    dirtySinceCheck = false;
    status(serverOk ? (serverProblems.warnings.length ? '检查通过,有警告' : '检查通过,可以部署') :
      `检查未通过:${serverProblems.errors.length} 个错误`, serverOk ? 'ok' : 'error');
  } catch (e) {
    serverProblems = { errors: [{ element: null, message: e.message }], warnings: [] };
    serverOk = false;
    status(e.message, 'error');
  }
  await relint();
  showTab('problems');
}

// ---- 试运行 --------------------------------------------------------------------------------------------
async function dryRun() {
  status('正在试运行…');
  const canvas = modeler.get('canvas');
  modeler.get('elementRegistry').forEach(e => canvas.removeMarker(e, 'huiyin-dry'));
  let answers = {};
  const text = $('#dry-answers').value.trim();
  if (text) {
    try { answers = JSON.parse(text); } catch (e) { status('试运行的回答不是有效的 JSON', 'error'); return; }
  }
  try {
    const result = await post('/dry-run', { bpmn: await currentXml(), forms, answers });
    const registry = modeler.get('elementRegistry');
    result.steps.forEach(step => { if (registry.get(step.task)) canvas.addMarker(step.task, 'huiyin-dry'); });
    const body = $('#dry-steps');
    body.replaceChildren(...result.steps.map(step => {
      const tr = document.createElement('tr');
      [step.title, step.lane, step.unit || '', step.due_at || '', step.status || ''].forEach(v => {
        const td = document.createElement('td');
        td.textContent = v;
        tr.appendChild(td);
      });
      return tr;
    }));
    $('#dry-stopped').textContent = result.stopped_at ? `停在:${elementName(result.stopped_at)}` : '';
    serverProblems = { errors: result.errors || [], warnings: serverProblems.warnings };
    drawProblems();
    status(result.errors && result.errors.length ? '试运行遇到错误' : `试运行完成:${result.steps.length} 个步骤`,
      result.errors && result.errors.length ? 'error' : 'ok');
  } catch (e) {
    status(e.message, 'error');
  }
  showTab('dry-run');
}

// ---- drafts and deploy ---------------------------------------------------------------------------------
let draftTimer = null;
function scheduleDraft() {
  if (!config.key) return;
  clearTimeout(draftTimer);
  draftTimer = setTimeout(saveDraft, 5000);
}

async function saveDraft() {
  if (!config.key) return;
  try {
    await call('PUT', '/draft', { bpmn: await currentXml(), forms });
    $('#draft-state').textContent = '草稿已自动保存 ' + new Date().toLocaleTimeString('zh-CN', { hour12: false });
  } catch (e) {
    $('#draft-state').textContent = '草稿未能保存:' + e.message;
  }
}

async function deploy() {
  const note = $('#deploy-note').value.trim();
  if (!note) { status('请填写变更说明', 'error'); $('#deploy-note').focus(); return; }
  const comment = $('#warnings-comment').value.trim();
  if (serverProblems.warnings.length && !comment) {
    status('有警告:请说明为何接受这些警告', 'error');
    $('#warnings-comment').focus();
    return;
  }
  status('正在部署…');
  try {
    const result = await post('/deploy', { bpmn: await currentXml(), forms, note, warnings_comment: comment });
    status(`已部署为第 ${result.version} 版`, 'ok');
    $('#deployed').textContent = `${result.key} 第 ${result.version} 版已生效`;
    $('#deployed').hidden = false;
  } catch (e) {
    status(e.message, 'error');
  }
}

// ---- forms ---------------------------------------------------------------------------------------------
function formsNamedByTasks() {
  const named = new Set();
  modeler.get('elementRegistry').forEach(e => {
    const ext = e.businessObject.extensionElements;
    ((ext && ext.values) || []).forEach(v => (v.properties || []).forEach(p => {
      if (p.name === 'formJsonSchemaFilename') named.add(p.value);
    }));
  });
  return named;
}

function refreshFormOptions() {
  config.forms = Object.keys(forms).sort().map(name => ({ value: name, label: (JSON.parse(forms[name]).title || '') + ' · ' + name }));
}

let previewTimer = null;
function previewForm(name) {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(async () => {
    try {
      const answer = await post('/form-preview', { schema: JSON.parse(forms[name]) });
      $('#form-preview').innerHTML = answer.html;
    } catch (e) {
      $('#form-preview').textContent = e.message;
    }
  }, 200);
}

function openForm(name) {
  $('#form-list').value = name;
  const schema = JSON.parse(forms[name]);
  const raw = $('#form-raw');
  raw.value = JSON.stringify(schema, null, 2);
  renderFormEditor($('#form-editor'), schema, changed => {
    forms[name] = JSON.stringify(changed, null, 2);
    raw.value = forms[name];
    dirtySinceCheck = true;
    serverOk = false;
    refreshFormOptions();
    drawProblems();
    scheduleDraft();
    previewForm(name);
  });
  previewForm(name);
}

function drawFormList(selected) {
  const list = $('#form-list');
  list.replaceChildren(...Object.keys(forms).sort().map(name => {
    const option = document.createElement('option');
    option.value = name;
    option.textContent = name;
    return option;
  }));
  if (selected) openForm(selected);
  else if (list.options.length) openForm(list.options[0].value);
}

function wireForms() {
  $('#form-list').addEventListener('change', e => openForm(e.target.value));
  $('#form-new').addEventListener('click', () => {
    const name = $('#form-new-name').value.trim();
    if (!/^[a-z][a-z0-9_]*\.json$/.test(name)) { status('表单文件名须为小写字母、数字、下划线,以 .json 结尾', 'error'); return; }
    if (forms[name]) { status('已有同名表单', 'error'); return; }
    forms[name] = JSON.stringify(emptyForm($('#form-new-title').value.trim() || name), null, 2);
    refreshFormOptions();
    drawFormList(name);
    scheduleDraft();
    status(`已新建表单 ${name}`, 'ok');
  });
  $('#form-delete').addEventListener('click', () => {
    const name = $('#form-list').value;
    if (formsNamedByTasks().has(name)) { status(`表单 ${name} 仍被用户任务引用,不能删除`, 'error'); return; }
    delete forms[name];
    refreshFormOptions();
    drawFormList();
    status(`已删除表单 ${name}`, 'ok');
  });
  $('#form-raw-apply').addEventListener('click', () => {
    const name = $('#form-list').value;
    try {
      forms[name] = JSON.stringify(JSON.parse($('#form-raw').value), null, 2);
    } catch (e) {
      status('JSON 无效:' + e.message, 'error');
      return;
    }
    openForm(name);
    status('已应用 JSON', 'ok');
  });
}

// ---- tabs and toolbar ----------------------------------------------------------------------------------
function showTab(name) {
  document.querySelectorAll('[role=tab]').forEach(tab => {
    const on = tab.dataset.tab === name;
    tab.setAttribute('aria-selected', on ? 'true' : 'false');
    $('#tab-' + tab.dataset.tab).hidden = !on;
  });
}

function wireToolbar() {
  document.querySelectorAll('[role=tab]').forEach(tab => tab.addEventListener('click', () => showTab(tab.dataset.tab)));
  $('#check').addEventListener('click', checkOnServer);
  $('#dry-run').addEventListener('click', dryRun);
  $('#save-draft').addEventListener('click', saveDraft);
  $('#deploy').addEventListener('click', deploy);
  $('#undo').addEventListener('click', () => modeler.get('commandStack').undo());
  $('#redo').addEventListener('click', () => modeler.get('commandStack').redo());
  $('#download').addEventListener('click', async () => {
    const blob = new Blob([await currentXml()], { type: 'application/xml' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = (config.key || 'process') + '.bpmn';
    a.click();
  });
}

async function start() {
  wireToolbar();
  wireForms();
  refreshFormOptions();
  drawFormList();
  try {
    const { warnings } = await modeler.importXML(config.bpmn);
    modeler.get('canvas').zoom('fit-viewport');
    if (warnings.length) status(`已导入,${warnings.length} 处无法识别的内容已忽略`, 'warning');
    else status(config.draft ? '已打开你的草稿' : '已打开', 'ok');
  } catch (e) {
    status('无法打开此流程:' + e.message, 'error');
  }
  await relint();
  document.body.dataset.modelerReady = '1';
}

window.HuiyinModeler = { modeler, forms, lint: relint, check: checkOnServer };
start();
