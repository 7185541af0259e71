// The 「回音」 group of the properties panel: Huiyin's BPMN extensions picked from lists, never typed as XML.
// It writes exactly what the engine reads (docs/bpmn-conventions.md): spiffworkflow:property
// formJsonSchemaFilename / deadlineRule / deadlineRuleExpression / unitVariable / caseStatus / requestedBy,
// the lane's name as its role, conditions, scripts (restricted Python) and timer expressions.
import { createElement as h } from '@bpmn-io/properties-panel/preact';
import {
  SelectEntry, TextFieldEntry, TextAreaEntry,
  isSelectEntryEdited, isTextFieldEntryEdited, isTextAreaEntryEdited
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { SPIFF_PROPERTIES, getExtension, is, propertiesOf } from './extensions';

export { getExtension, is };

// One undoable command for all the moddle changes a value needs (extensionElements, properties, property).
export function setExtension(injector, element, name, value) {
  const bpmnFactory = injector.get('bpmnFactory');
  const commandStack = injector.get('commandStack');
  const bo = element.businessObject;
  const commands = [];
  let ext = bo.extensionElements;
  if (!ext) {
    ext = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
    ext.$parent = bo;
    commands.push({ cmd: 'element.updateModdleProperties',
      context: { element, moddleElement: bo, properties: { extensionElements: ext } } });
  }
  let props = propertiesOf(bo);
  if (!props) {
    props = bpmnFactory.create(SPIFF_PROPERTIES, { properties: [] });
    props.$parent = ext;
    commands.push({ cmd: 'element.updateModdleProperties',
      context: { element, moddleElement: ext, properties: { values: [...ext.get('values'), props] } } });
  }
  const list = props.get('properties') || [];
  const existing = list.find(p => p.name === name);
  const empty = value === undefined || value === null || value === '';
  if (existing && empty) {
    commands.push({ cmd: 'element.updateModdleProperties',
      context: { element, moddleElement: props, properties: { properties: list.filter(p => p !== existing) } } });
  } else if (existing) {
    commands.push({ cmd: 'element.updateModdleProperties',
      context: { element, moddleElement: existing, properties: { value } } });
  } else if (!empty) {
    const property = bpmnFactory.create('spiffworkflow:Property', { name, value });
    property.$parent = props;
    commands.push({ cmd: 'element.updateModdleProperties',
      context: { element, moddleElement: props, properties: { properties: [...list, property] } } });
  }
  if (commands.length) commandStack.execute('properties-panel.multi-command-executor', commands);
}

function config() {
  return window.HUIYIN_MODELER || { forms: [], rules: [], roles: [], statuses: [], messages: [] };
}

function options(list, current) {
  const opts = [{ value: '', label: '〈未设置〉' }, ...list];
  if (current && !list.some(o => o.value === current)) opts.push({ value: current, label: current + '(不在列表中)' });
  return opts;
}

function extensionSelect(id, name, label, list, description) {
  function Component(props) {
    const { element } = props;
    const injector = useService('injector');
    const bo = element.businessObject;
    return h(SelectEntry, {
      id, element, label,
      description: description ? description(getExtension(bo, name)) : undefined,
      getValue: () => getExtension(bo, name) || '',
      setValue: value => setExtension(injector, element, name, value),
      getOptions: () => options(list(element), getExtension(bo, name))
    });
  }
  return { id, component: Component, isEdited: isSelectEntryEdited };
}

function extensionText(id, name, label, placeholder) {
  function Component(props) {
    const { element } = props;
    const injector = useService('injector');
    const debounce = useService('debounceInput');
    const bo = element.businessObject;
    return h(TextFieldEntry, {
      id, element, label, debounce, placeholder,
      getValue: () => getExtension(bo, name) || '',
      setValue: value => setExtension(injector, element, name, (value || '').trim())
    });
  }
  return { id, component: Component, isEdited: isTextFieldEntryEdited };
}

function ruleWords(key) {
  const rule = config().rules.find(r => r.value === key);
  return rule ? rule.text + (rule.basis ? '(依据:' + rule.basis + ')' : '') : '';
}

function userTasksOf(element) {
  const found = [];
  const walk = node => (node.flowElements || []).forEach(e => {
    if (is(e, 'bpmn:UserTask')) found.push({ value: e.id, label: (e.name || e.id) + ' · ' + e.id });
    if (is(e, 'bpmn:SubProcess')) walk(e);
  });
  let root = element.businessObject;
  while (root.$parent && !is(root, 'bpmn:Process')) root = root.$parent;
  walk(root);
  return found.filter(o => o.value !== element.id);
}

// A server check of restricted Python, as the administrator types; its answer is shown under the field.
const checked = new Map();

function checkSource(source, mode, redraw) {
  const key = mode + '\u0000' + source;
  if (checked.has(key)) return checked.get(key);
  checked.set(key, null);
  const post = window.HuiyinModelerPost;
  if (post) {
    post('check-script', { source, mode }).then(answer => {
      const errors = (answer && answer.errors) || [];
      checked.set(key, errors.length ? errors.map(e => `第 ${e.line} 行第 ${e.column} 列:${e.message}`).join(';') : '');
      redraw();
    }).catch(() => {});
  }
  return null;
}

function pythonArea(id, label, mode, getValue, setValue) {
  function Component(props) {
    const { element } = props;
    const injector = useService('injector');
    const debounce = useService('debounceInput');
    const redraw = () => injector.get('eventBus').fire('elements.changed', { elements: [element] });
    const value = getValue(element) || '';
    const error = value ? checkSource(value, mode, redraw) : '';
    return h(TextAreaEntry, {
      id, element, label, debounce, monospace: true, rows: mode === 'eval' ? 2 : 6,
      description: error ? '✗ ' + error : (error === '' && value ? '✓ 受限 Python 检查通过' : undefined),
      getValue: () => getValue(element) || '',
      setValue: v => setValue(injector, element, v)
    });
  }
  return { id, component: Component, isEdited: isTextAreaEntryEdited };
}

function conditionEntry() {
  return pythonArea('huiyin-condition', '条件(受限 Python 表达式)', 'eval',
    element => element.businessObject.conditionExpression && element.businessObject.conditionExpression.body,
    (injector, element, value) => {
      const modeling = injector.get('modeling');
      const bpmnFactory = injector.get('bpmnFactory');
      const body = (value || '').trim();
      modeling.updateProperties(element, {
        conditionExpression: body ? bpmnFactory.create('bpmn:FormalExpression', { body }) : undefined
      });
    });
}

function scriptEntry() {
  return pythonArea('huiyin-script', '脚本(受限 Python)', 'exec',
    element => element.businessObject.script,
    (injector, element, value) => injector.get('modeling').updateProperties(element, { script: value || '' }));
}

const TIMER_KINDS = [
  { value: 'timeDuration', label: '时长(ISO 8601,如 "PT2H"、"P3D")', kind: 'duration' },
  { value: 'timeDate', label: '日期时间(如 "2026-12-31T17:00:00")', kind: 'date' },
  { value: 'timeCycle', label: '周期(如 "R3/PT10M")', kind: 'cycle' }
];

function timerOf(element) {
  const defs = element.businessObject.eventDefinitions || [];
  return defs.find(d => is(d, 'bpmn:TimerEventDefinition'));
}

function timerKindOf(timer) {
  return (TIMER_KINDS.find(k => timer && timer[k.value]) || TIMER_KINDS[0]).value;
}

const previews = new Map();

function timerPreview(kind, value, redraw) {
  const key = kind + '\u0000' + value;
  if (previews.has(key)) return previews.get(key);
  previews.set(key, null);
  const post = window.HuiyinModelerPost;
  if (post) {
    post('timer-preview', { kind, value }).then(answer => {
      previews.set(key, answer.words ? '= ' + answer.words : '✗ ' + (answer.error || '无法解析'));
      redraw();
    }).catch(err => { previews.set(key, '✗ ' + (err.message || '无法解析')); redraw(); });
  }
  return null;
}

function timerEntries() {
  function Kind(props) {
    const { element } = props;
    const injector = useService('injector');
    return h(SelectEntry, {
      id: 'huiyin-timer-kind', element, label: '定时类型',
      getValue: () => timerKindOf(timerOf(element)),
      setValue: value => {
        const timer = timerOf(element);
        const current = timer[timerKindOf(timer)];
        const body = current ? current.body : '';
        const bpmnFactory = injector.get('bpmnFactory');
        const properties = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
        properties[value] = bpmnFactory.create('bpmn:FormalExpression', { body });
        injector.get('modeling').updateModdleProperties(element, timer, properties);
      },
      getOptions: () => TIMER_KINDS.map(k => ({ value: k.value, label: k.label }))
    });
  }
  function Value(props) {
    const { element } = props;
    const injector = useService('injector');
    const debounce = useService('debounceInput');
    const redraw = () => injector.get('eventBus').fire('elements.changed', { elements: [element] });
    const timer = timerOf(element);
    const kind = timerKindOf(timer);
    const body = timer[kind] ? timer[kind].body || '' : '';
    const preview = body ? timerPreview(TIMER_KINDS.find(k => k.value === kind).kind, body, redraw) : null;
    return h(TextFieldEntry, {
      id: 'huiyin-timer-value', element, label: '定时值(带引号的字符串或受限表达式)', debounce,
      description: preview || undefined,
      getValue: () => body,
      setValue: value => {
        const bpmnFactory = injector.get('bpmnFactory');
        const properties = {};
        properties[kind] = bpmnFactory.create('bpmn:FormalExpression', { body: (value || '').trim() });
        injector.get('modeling').updateModdleProperties(element, timer, properties);
      }
    });
  }
  return [
    { id: 'huiyin-timer-kind', component: Kind, isEdited: isSelectEntryEdited },
    { id: 'huiyin-timer-value', component: Value, isEdited: isTextFieldEntryEdited }
  ];
}

function messageEntry() {
  function Component(props) {
    const { element } = props;
    const injector = useService('injector');
    const def = (element.businessObject.eventDefinitions || []).find(d => is(d, 'bpmn:MessageEventDefinition'));
    return h(SelectEntry, {
      id: 'huiyin-message', element, label: '消息',
      getValue: () => (def.messageRef && def.messageRef.name) || '',
      setValue: name => {
        const definitions = injector.get('canvas').getRootElement().businessObject.$parent;
        const roots = definitions.get('rootElements');
        let message = roots.find(r => is(r, 'bpmn:Message') && r.name === name);
        const commands = [];
        if (name && !message) {
          message = injector.get('bpmnFactory').create('bpmn:Message', { name, id: 'msg_' + name });
          message.$parent = definitions;
          commands.push({ cmd: 'element.updateModdleProperties',
            context: { element, moddleElement: definitions, properties: { rootElements: [...roots, message] } } });
        }
        commands.push({ cmd: 'element.updateModdleProperties',
          context: { element, moddleElement: def, properties: { messageRef: name ? message : undefined } } });
        injector.get('commandStack').execute('properties-panel.multi-command-executor', commands);
      },
      getOptions: () => options(config().messages, def.messageRef && def.messageRef.name)
    });
  }
  return { id: 'huiyin-message', component: Component, isEdited: isSelectEntryEdited };
}

function laneRoleEntry() {
  function Component(props) {
    const { element } = props;
    const modeling = useService('modeling');
    return h(SelectEntry, {
      id: 'huiyin-lane-role', element, label: '泳道角色(泳道名即角色编码)',
      getValue: () => element.businessObject.name || '',
      setValue: value => modeling.updateProperties(element, { name: value }),
      getOptions: () => options(config().roles, element.businessObject.name)
    });
  }
  return { id: 'huiyin-lane-role', component: Component, isEdited: isSelectEntryEdited };
}

export function huiyinEntries(element) {
  const bo = element.businessObject;
  const cfg = config();
  const entries = [];
  if (is(bo, 'bpmn:UserTask')) {
    entries.push(
      extensionSelect('huiyin-form', 'formJsonSchemaFilename', '表单', () => cfg.forms),
      extensionSelect('huiyin-rule', 'deadlineRule', '时限规则', () => cfg.rules, key => ruleWords(key) || undefined),
      extensionText('huiyin-rule-expression', 'deadlineRuleExpression', '时限规则表达式(可选,如 \'hotline.\' + kind)'),
      extensionText('huiyin-unit-variable', 'unitVariable', '办理单位变量', 'lead_unit_id'),
      extensionSelect('huiyin-status', 'caseStatus', '等待时的案件状态', () => cfg.statuses),
      extensionSelect('huiyin-requested-by', 'requestedBy', '审批的申请步骤(仅审批任务)', userTasksOf));
  }
  if (is(bo, 'bpmn:EndEvent')) entries.push(extensionSelect('huiyin-status', 'caseStatus', '结束时的案件状态', () => cfg.statuses));
  if (is(bo, 'bpmn:Lane')) entries.push(laneRoleEntry());
  if (is(bo, 'bpmn:SequenceFlow') && bo.sourceRef &&
      (is(bo.sourceRef, 'bpmn:ExclusiveGateway') || is(bo.sourceRef, 'bpmn:InclusiveGateway'))) entries.push(conditionEntry());
  if (is(bo, 'bpmn:ScriptTask')) entries.push(scriptEntry());
  if (timerOf(element)) entries.push(...timerEntries());
  if ((bo.eventDefinitions || []).some(d => is(d, 'bpmn:MessageEventDefinition'))) entries.push(messageEntry());
  return entries;
}

export default function HuiyinPropertiesProvider(propertiesPanel) {
  this.getGroups = function(element) {
    return function(groups) {
      const entries = huiyinEntries(element);
      if (entries.length) groups.splice(1, 0, { id: 'huiyin', label: '回音', entries });
      return groups;
    };
  };
  propertiesPanel.registerProvider(500, this);
}
HuiyinPropertiesProvider.$inject = ['propertiesPanel'];

export const HuiyinPropertiesProviderModule = {
  __init__: ['huiyinPropertiesProvider'],
  huiyinPropertiesProvider: ['type', HuiyinPropertiesProvider]
};
