export function placeholderMain(): number { return 0; }
