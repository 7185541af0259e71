// The forms editor: a task form (JSON Schema, as forms/*.json) edited as a list of fields, with the raw JSON
// for experts. What it writes is what app/web/forms_render.py reads: properties, required, oneOf choices,
// allOf if/then ("required when"), x-ui.order and x-ui.widgets.
const TYPES = [['string', '文字'], ['integer', '整数'], ['number', '数字'], ['boolean', '是/否']];
const WIDGETS = [['', '自动'], ['textarea', '多行文字'], ['radio', '单选按钮'], ['unit-picker', '单位选择'],
  ['unit-picker-multiple', '多个单位'], ['category-tree', '分类树']];

export function emptyForm(title) {
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', title, type: 'object', properties: {},
    required: [], additionalProperties: false, 'x-ui': { order: [], widgets: {} } };
}

// The schema as an editable list: [{name, title, type, required, options, when, help, widget}].
export function fieldsOf(schema) {
  const props = schema.properties || {};
  const ui = schema['x-ui'] || {};
  const order = (ui.order || []).filter(n => n in props).concat(Object.keys(props).filter(n => !(ui.order || []).includes(n)));
  const whens = {};
  (schema.allOf || []).forEach(rule => {
    const test = (rule.if && rule.if.properties) || {};
    const field = Object.keys(test)[0];
    if (!field || !('const' in test[field])) return;
    ((rule.then && rule.then.required) || []).forEach(target => { whens[target] = field + '=' + test[field].const; });
  });
  return order.map(name => {
    const p = props[name];
    return {
      name, title: p.title || '', type: Array.isArray(p.type) ? p.type[0] : (p.type || 'string'),
      required: (schema.required || []).includes(name),
      options: (p.oneOf || []).map(o => o.const + (o.title && o.title !== String(o.const) ? ':' + o.title : '')).join('\n'),
      when: whens[name] || '', help: p.description || '', widget: (ui.widgets || {})[name] || '',
      maxLength: p.maxLength || '', extra: p
    };
  });
}

function typed(value, type) {
  if (type === 'integer' || type === 'number') return Number(value);
  if (type === 'boolean') return value === 'true';
  return value;
}

// The list back into a schema, keeping what the list does not show (limits, formats) from each field.
export function schemaOf(base, fields) {
  const schema = Object.assign({}, base, { properties: {}, required: [], 'x-ui': Object.assign({}, base['x-ui'] || {}) });
  delete schema.allOf;
  const allOf = [];
  schema['x-ui'].order = [];
  schema['x-ui'].widgets = {};
  fields.forEach(f => {
    const p = Object.assign({}, f.extra || {});
    p.type = f.type;
    p.title = f.title || f.name;
    if (f.help) p.description = f.help; else delete p.description;
    const options = (f.options || '').split('\n').map(s => s.trim()).filter(Boolean);
    if (options.length) {
      p.oneOf = options.map(o => {
        const [value, ...title] = o.split(':');
        return { const: typed(value.trim(), f.type), title: (title.join(':') || value).trim() };
      });
    } else delete p.oneOf;
    schema.properties[f.name] = p;
    if (f.required) schema.required.push(f.name);
    schema['x-ui'].order.push(f.name);
    if (f.widget) schema['x-ui'].widgets[f.name] = f.widget;
    const when = (f.when || '').match(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+?)\s*$/);
    if (when && !f.required) {
      const other = fields.find(o => o.name === when[1]);
      allOf.push({ if: { properties: { [when[1]]: { const: typed(when[2], other ? other.type : 'string') } },
        required: [when[1]] }, then: { required: [f.name] } });
    }
  });
  if (allOf.length) schema.allOf = allOf;
  return schema;
}

function el(tag, attrs, children) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => {
    if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, '');
    else if (v !== false && v !== undefined && v !== null) node.setAttribute(k, v);
  });
  (children || []).forEach(c => node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c));
  return node;
}

function select(name, value, choices, onchange, label) {
  return el('select', { name, 'aria-label': label, onchange }, choices.map(([v, t]) =>
    el('option', { value: v, selected: v === value, text: t })));
}

// Renders the editor for one form into `root`; `onChange(schema)` after every edit.
export function renderFormEditor(root, schema, onChange) {
  let fields = fieldsOf(schema);
  const commit = () => { schema = schemaOf(schema, fields); onChange(schema); draw(); };
  function row(f, i) {
    const set = key => e => { f[key] = e.target.type === 'checkbox' ? e.target.checked : e.target.value; commit(); };
    return el('tr', { 'data-field': f.name }, [
      el('td', {}, [el('input', { name: 'field-name', value: f.name, size: 14, 'aria-label': '字段名',
        onchange: e => { f.name = e.target.value.trim() || f.name; commit(); } })]),
      el('td', {}, [el('input', { name: 'field-title', value: f.title, size: 12, 'aria-label': '标题', onchange: set('title') })]),
      el('td', {}, [select('field-type', f.type, TYPES, set('type'), '类型')]),
      el('td', {}, [el('input', { type: 'checkbox', name: 'field-required', checked: f.required, 'aria-label': '必填',
        onchange: set('required') })]),
      el('td', {}, [el('textarea', { name: 'field-options', rows: 1, cols: 14, 'aria-label': '选项(每行 值:名称)',
        onchange: set('options'), text: f.options })]),
      el('td', {}, [el('input', { name: 'field-when', value: f.when, size: 12, placeholder: '字段=值',
        'aria-label': '何时必填', onchange: set('when') })]),
      el('td', {}, [el('input', { name: 'field-help', value: f.help, size: 12, 'aria-label': '帮助', onchange: set('help') })]),
      el('td', {}, [select('field-widget', f.widget, WIDGETS, set('widget'), '控件')]),
      el('td', { class: 'field-actions' }, [
        el('button', { type: 'button', title: '上移', 'aria-label': '上移', disabled: i === 0,
          onclick: () => { fields.splice(i - 1, 0, fields.splice(i, 1)[0]); commit(); }, text: '↑' }),
        el('button', { type: 'button', title: '下移', 'aria-label': '下移', disabled: i === fields.length - 1,
          onclick: () => { fields.splice(i + 1, 0, fields.splice(i, 1)[0]); commit(); }, text: '↓' }),
        el('button', { type: 'button', title: '删除字段', 'aria-label': '删除字段',
          onclick: () => { fields.splice(i, 1); commit(); }, text: '✕' })
      ])
    ]);
  }
  function draw() {
    fields = fieldsOf(schema);
    root.replaceChildren(
      el('label', {}, ['表单标题 ', el('input', { name: 'form-title', value: schema.title || '',
        onchange: e => { schema.title = e.target.value; commit(); } })]),
      el('table', { class: 'form-fields' }, [
        el('thead', {}, [el('tr', {}, ['字段名', '标题', '类型', '必填', '选项', '何时必填', '帮助', '控件', ''].map(t => el('th', { text: t })))]),
        el('tbody', {}, fields.map(row))
      ]),
      el('button', { type: 'button', id: 'add-field', text: '添加字段', onclick: () => {
        let n = fields.length + 1;
        while (fields.some(f => f.name === 'field_' + n)) n += 1;
        fields.push({ name: 'field_' + n, title: '新字段', type: 'string', required: false, options: '', when: '',
          help: '', widget: '', extra: { maxLength: 2000 } });
        commit();
      } })
    );
  }
  draw();
}
