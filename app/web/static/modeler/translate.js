// Chinese for the modeler's palette, context pad, replace menu and properties panel (bpmn-js translate module).
const WORDS = {
  'Activate hand tool': '抓手工具', 'Activate lasso tool': '套索工具', 'Activate create/remove space tool': '空间工具',
  'Activate global connect tool': '连线工具', 'Create start event': '开始事件', 'Create end event': '结束事件',
  'Create intermediate/boundary event': '中间/边界事件', 'Create gateway': '网关', 'Create task': '任务',
  'Create expanded sub-process': '展开的子流程', 'Create pool/participant': '泳池', 'Create group': '分组',
  'Create data object reference': '数据对象', 'Create data store reference': '数据存储',
  'Append end event': '追加结束事件', 'Append gateway': '追加网关', 'Append task': '追加任务',
  'Append intermediate/boundary event': '追加中间事件', 'Append user task': '追加用户任务',
  'Append text annotation': '追加注释', 'Change element': '更改类型', 'Change type': '更改类型',
  'Delete': '删除', 'Connect using sequence/message flow or association': '连线', 'Connect to other element': '连接',
  'Add lane above': '在上方加泳道', 'Add lane below': '在下方加泳道', 'Divide into two lanes': '分为两条泳道',
  'Divide into three lanes': '分为三条泳道', 'Task': '任务', 'User task': '用户任务', 'Script task': '脚本任务',
  'Service task': '服务任务', 'Manual task': '人工任务', 'Call activity': '调用活动', 'Sub-process': '子流程',
  'Exclusive gateway': '排他网关', 'Parallel gateway': '并行网关', 'Inclusive gateway': '包容网关',
  'Event-based gateway': '事件网关', 'Start event': '开始事件', 'End event': '结束事件',
  'Timer start event': '定时开始事件', 'Message start event': '消息开始事件', 'Timer boundary event': '定时边界事件',
  'General': '常规', 'Name': '名称', 'ID': '编号', 'Documentation': '说明', 'Element documentation': '元素说明',
  'Process documentation': '流程说明', 'Version tag': '版本标签', 'Executable': '可执行', 'Timer': '定时',
  'Message': '消息', 'Global message reference': '消息', 'Condition': '条件', 'Multi-instance': '多实例',
  'Search in diagram': '在图中查找', 'Type': '类型', 'Value': '值', '<none>': '〈无〉', 'Create': '新建',
  'Element must have an unique id.': '编号必须唯一。', 'ID must not be empty.': '编号不能为空。',
  'ID must not contain spaces.': '编号不能含空格。', 'ID must be a valid QName.': '编号须为合法的 QName。',
  'Timer definition type': '定时类型', 'Date': '日期', 'Duration': '时长', 'Cycle': '周期',
  'Inputs': '输入', 'Outputs': '输出', 'Loop characteristics': '循环特性', 'Properties': '属性'
};

export default function translate(template, replacements) {
  replacements = replacements || {};
  const text = WORDS[template] || template;
  return text.replace(/{([^}]+)}/g, (_, key) => replacements[key] || '{' + key + '}');
}

export const TranslateModule = { translate: ['value', translate] };
