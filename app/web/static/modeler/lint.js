// bpmnlint in the browser: a few of its own rules plus Huiyin's (docs/bpmn-conventions.md). The server's
// deploy checks stay the authority ("检查" runs them); these answer while the administrator draws.
import { Linter } from 'bpmnlint';
import StaticResolver from 'bpmnlint/lib/resolver/static-resolver';
import noImplicitSplit from 'bpmnlint/rules/no-implicit-split';
import noDisconnected from 'bpmnlint/rules/no-disconnected';
import startEventRequired from 'bpmnlint/rules/start-event-required';
import endEventRequired from 'bpmnlint/rules/end-event-required';
import { getExtension, is } from './extensions';

function config() {
  return globalThis.HUIYIN_MODELER || { roles: [], forms: [], rules: [] };
}

function userTaskNeeds(name, message) {
  return function rule() {
    return {
      check(node, reporter) {
        if (is(node, 'bpmn:UserTask') && !(getExtension(node, name) ||
            (name === 'deadlineRule' && getExtension(node, 'deadlineRuleExpression')))) {
          reporter.report(node.id, message);
        }
      }
    };
  };
}

function laneRole() {
  return {
    check(node, reporter) {
      if (!is(node, 'bpmn:Lane')) return;
      const roles = config().roles.map(r => r.value);
      if (!node.name) reporter.report(node.id, '泳道没有角色:泳道名须是角色编码');
      else if (roles.length && !roles.includes(node.name)) reporter.report(node.id, `泳道名「${node.name}」不是角色编码`);
    }
  };
}

// Every flow node must be reachable from a start event of its (sub)process, through sequence flows,
// or hang on something reachable (a boundary event), or start an event sub-process.
function reachable() {
  return {
    check(node, reporter) {
      if (!(is(node, 'bpmn:Process') || is(node, 'bpmn:SubProcess'))) return;
      const nodes = (node.flowElements || []).filter(e => is(e, 'bpmn:FlowNode'));
      const seen = new Set();
      const todo = nodes.filter(e => is(e, 'bpmn:StartEvent') || ((e.incoming || []).length === 0 &&
        is(e, 'bpmn:BoundaryEvent') === false && is(e, 'bpmn:SubProcess') && e.triggeredByEvent));
      while (todo.length) {
        const e = todo.pop();
        if (seen.has(e)) continue;
        seen.add(e);
        (e.outgoing || []).forEach(f => f.targetRef && todo.push(f.targetRef));
        nodes.filter(b => is(b, 'bpmn:BoundaryEvent') && b.attachedToRef === e).forEach(b => todo.push(b));
      }
      nodes.filter(e => !seen.has(e)).forEach(e => reporter.report(e.id, '从开始事件无法到达此元素'));
    }
  };
}

const ISO_DURATION = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const ISO_CYCLE = /^R\d*\/.+$/;

function timersParse() {
  return {
    check(node, reporter) {
      if (!is(node, 'bpmn:TimerEventDefinition')) return;
      const event = node.$parent;
      const kind = ['timeDuration', 'timeDate', 'timeCycle'].find(k => node[k]);
      const body = kind && (node[kind].body || '').trim();
      if (!body) { reporter.report(event.id, '定时器没有时间'); return; }
      const quoted = body.match(/^(['"])(.*)\1$/);
      if (!quoted) return; // an expression: only the server can evaluate it
      const text = quoted[2];
      const ok = kind === 'timeDuration' ? ISO_DURATION.test(text) : kind === 'timeDate' ? ISO_DATE.test(text)
        : ISO_CYCLE.test(text);
      if (!ok) reporter.report(event.id, `定时值 ${text} 不是有效的 ISO 8601 ${kind === 'timeDuration' ? '时长' : kind === 'timeDate' ? '日期时间' : '周期'}`);
    }
  };
}

function pythonOnly() {
  return {
    check(node, reporter) {
      const foreign = format => format && !/^(python|text\/x-python)$/i.test(format);
      if (is(node, 'bpmn:ScriptTask') && foreign(node.scriptFormat)) {
        reporter.report(node.id, `脚本格式「${node.scriptFormat}」不受支持:只接受受限 Python`);
      }
      if (is(node, 'bpmn:SequenceFlow') && node.conditionExpression && foreign(node.conditionExpression.language)) {
        reporter.report(node.id, `条件语言「${node.conditionExpression.language}」不受支持:只接受受限 Python`);
      }
    }
  };
}

export const HUIYIN_RULES = {
  'user-task-form': userTaskNeeds('formJsonSchemaFilename', '用户任务没有表单'),
  'user-task-rule': userTaskNeeds('deadlineRule', '用户任务没有时限规则'),
  'lane-role': laneRole,
  'reachable': reachable,
  'timers-parse': timersParse,
  'python-only': pythonOnly
};

const cache = {
  'rule:bpmnlint/no-implicit-split': noImplicitSplit,
  'rule:bpmnlint/no-disconnected': noDisconnected,
  'rule:bpmnlint/start-event-required': startEventRequired,
  'rule:bpmnlint/end-event-required': endEventRequired
};
Object.keys(HUIYIN_RULES).forEach(name => { cache['rule:bpmnlint-plugin-huiyin/' + name] = HUIYIN_RULES[name]; });

const rules = {
  'no-implicit-split': 'error', 'no-disconnected': 'error', 'start-event-required': 'error',
  'end-event-required': 'error'
};
Object.keys(HUIYIN_RULES).forEach(name => { rules['huiyin/' + name] = name === 'user-task-rule' ? 'warn' : 'error'; });

const linter = new Linter({ config: { rules }, resolver: new StaticResolver(cache) });

// [{element, rule, message}] for the definitions moddle element of the diagram.
export async function lint(definitions) {
  const reports = await linter.lint(definitions);
  const found = [];
  Object.keys(reports).forEach(rule => reports[rule].forEach(r => {
    if (r.category === 'error' || r.category === 'warn' || r.category === 'rule-error') {
      found.push({ element: r.id, rule, message: r.message, severity: r.category === 'warn' ? 'warning' : 'error' });
    }
  }));
  return found;
}
