import { plugin } from './handler';

export default plugin;
