// Reading Huiyin's extension properties off a moddle element (the properties panel and the lint rules).
export const SPIFF_PROPERTIES = 'spiffworkflow:Properties';

export function is(bo, type) {
  return bo && typeof bo.$instanceOf === 'function' && bo.$instanceOf(type);
}

export function propertiesOf(bo) {
  const values = (bo.extensionElements && bo.extensionElements.get('values')) || [];
  return values.find(v => v.$type === SPIFF_PROPERTIES);
}

export function getExtension(bo, name) {
  const props = propertiesOf(bo);
  const found = props && (props.get('properties') || []).find(p => p.name === name);
  return found ? found.value : undefined;
}

